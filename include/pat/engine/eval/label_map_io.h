#pragma once
/// \file Label-map files: ground truth and saved predictions as single-channel PNG (8/16-bit) or TIFF.

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace pat::engine {

/// Reads a single-channel label image (PNG 8/16-bit, TIFF 8/16-bit or 32-bit signed) into
/// [H, W] int64. Colour images, float images and unreadable files are `pat::Error`s naming the path.
torch::Tensor read_label_map(const std::string& path);

/// Writes `labels` [H, W] integer as a raw label PNG, atomically: 8-bit when num_classes <= 255
/// (so 255 stays free for "ignore"), else 16-bit. Values outside the format's range are an error.
void write_label_png(const std::string& path, const torch::Tensor& labels, int64_t num_classes);

}  // namespace pat::engine
