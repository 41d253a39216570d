#pragma once
/// \file Robust image and label-map io over OpenCV.
///
/// Every failure (missing, empty, truncated, non-image or unsupported file) is a one-line
/// `pat::Error` that names the file.

#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

namespace pat::data {

/// Reads an image as RGB uint8 (`CV_8UC3`). JPEG, PNG (palette, grey, alpha: alpha is dropped), BMP,
/// WebP, TIFF (16-bit is scaled to 8-bit by 1/257), PNM; grayscale becomes 3 equal channels; the EXIF
/// orientation is applied.
cv::Mat read_image(const std::string& path);

/// `read_image` for encoded bytes already in memory; `name` is used in error messages.
cv::Mat decode_image(const std::string& bytes, const std::string& name);

/// Reads a label map with its values unchanged as `CV_32SC1`: single-channel PNG (8/16-bit, and
/// palette PNGs give their palette indices, as PIL does), TIFF (8/16/32-bit integer), BMP.
/// Multi-channel or floating-point label maps are errors.
cv::Mat read_label(const std::string& path);

/// Sample depth of a written label map.
enum class LabelDepth {
  kAuto,  ///< 8-bit when every value is <= 255, else 16-bit
  kU8,    ///< 8-bit (values must be <= 255)
  kU16,   ///< 16-bit (values must be <= 65535)
};

/// Writes a single-channel integer label map (`CV_8U`, `CV_16U` or `CV_32S`; values in [0, 65535])
/// atomically (temporary file + rename). The format follows the extension: `.png` or `.tif`/`.tiff`.
void write_label(const std::string& path, const cv::Mat& label, LabelDepth depth = LabelDepth::kAuto);

/// Writes an RGB uint8 image atomically; format by extension (`.jpg`, `.png`, `.bmp`, `.webp`, `.tif`).
void write_image(const std::string& path, const cv::Mat& rgb, int jpeg_quality = 95);

/// True for the file extensions `read_image` is meant for (case-insensitive, with the dot).
bool is_image_extension(const std::string& extension);

}  // namespace pat::data
