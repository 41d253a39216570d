#pragma once
/// \file CLIP's image preprocessing (`_transform(n_px)` in OpenAI's clip.py, shared/design/CLIP.md §2):
/// shorter side resized bicubically to n_px, center crop n_px x n_px, RGB, /255, CLIP mean/std.
///
/// Difference from the reference: OpenAI resizes a PIL image with PIL's bicubic filter, which
/// antialiases when downscaling (its kernel widens with the scale factor). OpenCV's INTER_CUBIC (used
/// here) samples a fixed 4x4 neighbourhood, so downscaled pixels differ (more aliasing on large
/// reductions; identical geometry, exact at scale 1). The crop offsets and normalization are exact.

#include <array>
#include <cstdint>
#include <string>

#include <torch/types.h>
#include <opencv2/core.hpp>

namespace pat::clip {

/// CLIP's per-channel statistics on [0,1] RGB.
constexpr std::array<double, 3> kClipMean = {0.48145466, 0.4578275, 0.40821073};
constexpr std::array<double, 3> kClipStd = {0.26862954, 0.26130258, 0.27577711};

/// Size after resizing the shorter side to n_px: the shorter becomes n_px, the longer
/// int(n_px * long / short) (truncated). Returns {height, width}.
std::array<int64_t, 2> shorter_side_size(int64_t height, int64_t width, int64_t n_px);

/// Top-left corner of the centered n_px x n_px crop of a height x width image: {round((height - n_px)/2),
/// round((width - n_px)/2)} with Python's round (half to even). Returns {top, left}. An image smaller than
/// n_px is a `pat::Error`.
std::array<int64_t, 2> center_crop_offset(int64_t height, int64_t width, int64_t n_px);

/// An 8-bit BGR (OpenCV order; 1 channel = gray, 4 = BGRA) image to CLIP input [1, 3, n_px, n_px] float32.
torch::Tensor clip_preprocess(const cv::Mat& image_bgr, int64_t n_px);

/// Reads an image file with OpenCV and preprocesses it. Unreadable file: `pat::Error`.
torch::Tensor clip_preprocess_file(const std::string& path, int64_t n_px);

/// RGB [.., 3, H, W] in [0,1] -> (x - mean) / std per channel.
torch::Tensor clip_normalize(const torch::Tensor& rgb01);

}  // namespace pat::clip
