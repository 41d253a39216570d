#pragma once
/// \file Captions of synthetic scenes: what a scene visibly shows (`SceneContent`) and varied
/// lower-case sentences naming some of it (`make_caption`), for contrastive CLIP pretraining.

#include <string>
#include <vector>

#include "pat/data/rng.h"

namespace pat::data {

/// The visible classes of one scene (a class counts when it covers at least 1% of the pixels or
/// 30 pixels, whichever is smaller; an object when that shape alone does).
struct SceneContent {
  /// Background class names ("grass"), largest area first.
  std::vector<std::string> backgrounds;
  /// Object class names ("red star"), in drawing order; a name repeats for two objects of one class.
  std::vector<std::string> objects;
};

/// Pixels a class (or a shape) must cover in an image of `pixels` pixels to count as visible.
int visible_pixel_threshold(int64_t pixels);

/// A caption of `content` drawn with `rng`: one of several templates ("a photo of a blue circle and
/// a red star on grass", "grass with a red star", "a red star, a blue circle and some sky", "two red
/// stars over water", ...), objects in random order, sometimes only some of them and sometimes no
/// background, never nothing; repeated classes are counted ("two red stars"). Every word comes from the
/// content or the templates, which name no class. `content` must not be empty.
std::string make_caption(const SceneContent& content, Rng& rng);

}  // namespace pat::data
