#pragma once
/// \file safetensors files (8-byte little-endian header length, JSON header, raw little-endian data),
/// the format open_clip / Hugging Face exports use and the one PAT exports weights in.

#include <map>
#include <string>

#include <torch/types.h>

namespace pat {

/// Tensors by name plus the optional string metadata (`__metadata__`).
struct SafeTensors {
  std::map<std::string, torch::Tensor> tensors;  ///< CPU tensors, contiguous
  std::map<std::string, std::string> metadata;
};

/// Reads a safetensors file (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL).
SafeTensors read_safetensors(const std::string& path);

/// Writes tensors (moved to CPU) and metadata atomically.
void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace pat
