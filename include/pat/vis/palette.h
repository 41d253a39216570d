#pragma once
/// \file The class colour palette: fixed, deterministic, unique for every class index.

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace pat::vis {

/// Colour of class `index` (>= 0) in OpenCV's **BGR** order. The PASCAL-VOC bit-interleaving scheme
/// applied to index + 1: bit triples of the index go to the most significant bits of R, G, B in turn,
/// so neighbouring indices get very different colours, no class is black (black means "unlabeled"),
/// and colours are unique for every index below 2^24 - 1 (larger indices wrap). Class 0 is dark
/// red, 1 dark green, 2 olive, 3 navy, ...
cv::Vec3b class_color(int64_t index);

/// The first `num_classes` colours, BGR.
std::vector<cv::Vec3b> make_palette(int64_t num_classes);

/// Colour used for unlabeled / ignore pixels in colorized maps (black).
inline cv::Vec3b unlabeled_color() {
  return {0, 0, 0};
}

}  // namespace pat::vis
