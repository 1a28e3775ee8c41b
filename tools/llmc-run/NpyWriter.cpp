//===- NpyWriter.cpp - float32 arrays as NumPy .npy files -----------------===//

#include "NpyWriter.h"

#include "llvm/Support/raw_ostream.h"

namespace llmc {

llvm::Error writeNpy(llvm::StringRef path, const std::vector<int64_t> &shape,
                     const std::vector<float> &values) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int64_t dim : shape)
    header += std::to_string(dim) + ", ";
  header += "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return llvm::createStringError(error, "cannot write %s: %s",
                                   path.str().c_str(), error.message().c_str());
  os << "\x93NUMPY" << '\x01' << '\x00';
  os << static_cast<char>(header.size() & 0xff)
     << static_cast<char>(header.size() >> 8) << header;
  os.write(reinterpret_cast<const char *>(values.data()),
           values.size() * sizeof(float));
  return llvm::Error::success();
}

} // namespace llmc
