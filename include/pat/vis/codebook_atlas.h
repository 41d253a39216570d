#pragma once
/// \file What a code "means": for the most used codes of one codebook, the image patches that map to it,
/// collected over many images and drawn as one picture (a row per code).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>

namespace pat::vis {

struct CodebookAtlasOptions {
  /// Rows: the most used codes (by token count over all images added).
  int64_t codes = 16;
  /// Patches shown per code: those with the highest score (e.g. cosine to the code), at most this many.
  int64_t patches = 8;
  /// Side of a drawn patch, pixels.
  int tile = 48;
  /// Side of the image region shown per patch, in token cells (the cell itself is outlined in the middle).
  double context = 3.0;
};

/// Collects patches image by image (memory: at most K x patches tiles) and renders the atlas.
class CodebookAtlas {
 public:
  /// `codebook_size` K: codes are ids in [0, K).
  explicit CodebookAtlas(int64_t codebook_size, CodebookAtlasOptions options = {});

  /// image: CV_8UC3 BGR, the picture the token map covers (the map's cell (y, x) is the region
  /// [y H/h, (y+1) H/h) x [x W/w, (x+1) W/w)); ids: [h, w] integer in [0, K); score: [h, w] floating, higher
  /// = more typical of its code. Within one image a code's patches are at least two cells apart.
  void add(const cv::Mat& image, const torch::Tensor& ids, const torch::Tensor& score);

  /// Tokens counted per code so far.
  const std::vector<int64_t>& counts() const { return counts_; }

  /// The atlas: a title strip, then per code (most used first) its colour (`class_color`, as in the
  /// colourized token maps), id and share of all tokens, and its patches, best first. CV_8UC3 BGR.
  /// Nothing added yet is a `pat::Error`.
  cv::Mat render(const std::string& title) const;

 private:
  struct Patch {
    double score = 0;
    int64_t order = 0;  ///< insertion order: ties keep the earlier patch
    cv::Mat pixels;     ///< tile x tile BGR
  };
  cv::Mat crop(const cv::Mat& image, int64_t y, int64_t x, int64_t h, int64_t w) const;

  int64_t codebook_size_;
  CodebookAtlasOptions options_;
  std::vector<int64_t> counts_;
  std::vector<std::vector<Patch>> patches_;  ///< per code, sorted by score, best first
  int64_t added_ = 0;
};

}  // namespace pat::vis
