//===- DType.h - Element types of stored tensors ----------------*- C++ -*-===//

#ifndef LLMRT_DTYPE_H
#define LLMRT_DTYPE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmrt {

/// The element types of the safetensors format.
enum class DType {
  Bool,
  U8,
  I8,
  U16,
  I16,
  F16,
  BF16,
  U32,
  I32,
  F32,
  U64,
  I64,
  F64,
  F8E4M3,
  F8E5M2,
};

/// The safetensors spelling ("F32", "BF16", ...).
std::string_view dtypeName(DType dtype);

/// Parses a safetensors spelling; nullopt for an unknown one.
std::optional<DType> parseDType(std::string_view name);

/// Bytes per element.
size_t dtypeSize(DType dtype);

/// IEEE half and bfloat16 bits to float and back (round to nearest even).
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
float bfloat16ToFloat(uint16_t bits);
uint16_t floatToBFloat16(float value);

/// The names of all dtypes, comma-separated, for error messages.
std::string_view dtypeNames();

} // namespace llmrt

#endif // LLMRT_DTYPE_H
