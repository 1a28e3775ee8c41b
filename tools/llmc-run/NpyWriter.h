//===- NpyWriter.h - float32 arrays as NumPy .npy files ---------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_RUN_NPYWRITER_H
#define LLMC_TOOLS_LLMC_RUN_NPYWRITER_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace llmc {

/// Writes `values` as a C-order float32 array of `shape` (.npy version 1.0).
llvm::Error writeNpy(llvm::StringRef path, const std::vector<int64_t> &shape,
                     const std::vector<float> &values);

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_RUN_NPYWRITER_H
