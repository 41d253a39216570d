#pragma once
/// \file Captioned windows: square windows of a labelled image on its patch grid, each with a caption of
/// what it shows, for a region-level contrastive loss in CLIP pretraining (the image's dense features pooled
/// over a window against the window's caption, as RegionCLIP aligns regions with text). The captions name
/// classes only, like the scenes' own captions (`make_caption`); the label map serves only as their captioner.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pat/data/captions.h"
#include "pat/data/rng.h"

namespace pat::data {

/// A square window of an image, in patches, with its caption.
struct CaptionedWindow {
  int64_t top = 0, left = 0, size = 0;  ///< rows [top, top + size), columns [left, left + size) of the patch grid
  std::string caption;
};

/// What pixels [y0, y1) x [x0, x1) of `label` ([H, W] integer class ids; values outside [0, names) are ignored)
/// show: the classes that cover at least `visible_pixel_threshold` of the window and 5 % of it, backgrounds
/// largest first and objects largest first (one entry per class: a label map does not count instances); when
/// none does, the largest class alone. Empty when every pixel is ignored. `is_background[c]` tells whether
/// class `c` (named `names[c]`) is a background kind.
SceneContent describe_label_window(const torch::Tensor& label, int64_t y0, int64_t y1, int64_t x0, int64_t x1,
                                   const std::vector<std::string>& names, const std::vector<bool>& is_background);

/// `count` windows of `label` ([H, W], H and W multiples of `patch`), sides uniform among the whole patches in
/// [1/4, 2/3] of the grid's shorter side, each captioned by `make_caption` of `describe_label_window`; windows
/// showing only ignored pixels are left out. Half of the windows (when the image has objects) hold a random patch
/// whose centre pixel shows an object, anywhere in the window, as region proposals would; the others lie anywhere.
std::vector<CaptionedWindow> draw_captioned_windows(const torch::Tensor& label, int64_t patch, int64_t count,
                                                    const std::vector<std::string>& names,
                                                    const std::vector<bool>& is_background, Rng& r);

}  // namespace pat::data
