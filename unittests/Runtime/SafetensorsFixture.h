//===- SafetensorsFixture.h - Building safetensors files in tests -*- C++ -*-===//

#ifndef LLMC_UNITTESTS_RUNTIME_SAFETENSORSFIXTURE_H
#define LLMC_UNITTESTS_RUNTIME_SAFETENSORSFIXTURE_H

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace llmc::testing {

/// The bytes of a safetensors file: little-endian length, header, data.
inline std::string safetensorsBytes(const std::string &header,
                                    const std::string &data) {
  std::string bytes(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

/// A fresh temporary directory, removed with its files at destruction.
class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/llmc-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string &name, const std::string &bytes) const {
    std::string file = path + "/" + name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
  std::string path;
};

} // namespace llmc::testing

#endif // LLMC_UNITTESTS_RUNTIME_SAFETENSORSFIXTURE_H
