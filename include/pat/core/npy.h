#pragma once
/// \file NumPy .npy files (format 1.0/2.0, little-endian, C order): float32, float64, int64, int32, uint8,
/// uint16, bool.

#include <string>

#include <torch/types.h>

namespace pat {

/// Reads an .npy file into a CPU tensor of the matching dtype (uint16 becomes int32).
torch::Tensor read_npy(const std::string& path);

/// Parses .npy bytes (`what` names the source in errors).
torch::Tensor parse_npy(const std::string& bytes, const std::string& what);

/// Writes a tensor (any device; float32, float64, int64, int32, uint8 or bool) atomically as .npy.
void write_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace pat
