#pragma once
/// \file Zero-shot checks of a CLIP on held-out synthetic data (pat_clip pretrain's validation): caption
/// retrieval on captioned scenes, zero-shot classification of single-object crops over all object classes, and
/// dense zero-shot segmentation of the scenes (what a segmentation head starts from).

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "pat/clip/model.h"
#include "pat/clip/tokenizer.h"
#include "pat/data/synthetic.h"
#include "pat/data/synthetic_crop.h"

namespace pat::engine {

struct ClipZeroShotOptions {
  /// The held-out scenes (their captions are retrieved) and, with `num_crops`, the crops' classes, size and seed.
  data::SyntheticOptions scenes;
  int64_t num_crops = 480;
  /// Prompt of each object class ("{}" is replaced by the class name).
  std::string prompt = "a photo of a {}.";
  int64_t batch_size = 64;
};

/// Percent values.
struct ClipZeroShot {
  /// Scenes whose most similar caption (among all the scenes' captions) is their own text; a caption that
  /// another scene shares word for word counts as right, since the two cannot be told apart.
  double image_to_text_r1 = 0;
  /// Captions whose most similar scene is one that caption describes (same rule).
  double text_to_image_r1 = 0;
  /// Crops whose class prompt scores highest among the prompts of every object class of the scenes' classes.
  double accuracy = 0;
  /// Crops whose highest-scoring class has the right colour word, and the right geometry word (a CLIP that
  /// only tells colours apart scores about 100 and chance).
  double colour_accuracy = 0, geometry_accuracy = 0;
  /// Dense zero-shot segmentation of the held-out scenes: every pixel takes the scene class (background or
  /// object) whose prompt is most similar to CAT-Seg's dense image features there (`encode_image_dense`,
  /// bilinear upsampling of the similarities), mIoU over the classes present; also split into the background
  /// and the object classes. A CLIP whose patch features do not align with its text scores near 0 even when
  /// its image embeddings classify well.
  double dense_miou = 0, dense_background_miou = 0, dense_object_miou = 0;
  int64_t scenes = 0, crops = 0, classes = 0;
};

/// Runs the three checks with `model` in eval mode under no-grad (the caller restores training mode); images are
/// resized to the model's input resolution.
ClipZeroShot evaluate_clip_zero_shot(clip::ClipModelImpl& model, const clip::Tokenizer& tokenizer,
                                     const ClipZeroShotOptions& options);

}  // namespace pat::engine
