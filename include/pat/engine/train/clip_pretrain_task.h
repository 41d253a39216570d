#pragma once
/// \file pat_clip pretrain's task: a CLIP (`model.clip`, arch custom) trained from scratch on captioned
/// synthetic scenes as OpenAI trained theirs: symmetric InfoNCE over the batch (image-to-text and
/// text-to-image cross-entropy, averaged), a learnable logit scale starting at `pretrain.logit_scale_init`
/// (1/0.07) and clamped to `pretrain.logit_scale_max` (100) after every step, AdamW without weight decay on
/// gains, biases and the logit scale. Validation: caption retrieval R@1 and zero-shot accuracy on
/// single-object crops over every object class, and dense zero-shot mIoU (clip_zero_shot.h); the accuracy decides
/// best.pt. With `pretrain.window_captions` > 0, a second loss (`window`, weighted by `pretrain.window_loss_weight`)
/// trains the dense features CAT-Seg reads: each image's dense last-block features averaged over captioned windows
/// (data/window_captions.h) are contrasted with the windows' captions in the same symmetric InfoNCE. The final
/// weights, `clip_final.safetensors`, carry the CLIP's own parameter names, so `model.clip.weights` loads
/// them as they are (with the same `model.clip.head_width`).

#include <memory>
#include <string>

#include "pat/config/config.h"
#include "pat/engine/train/train_task.h"

namespace pat::engine {

/// Training scenes: `data.synthetic_train` scenes of `data.synthetic_classes` at `data.synthetic_size`
/// (= model.clip.image_size), seed 2·runtime.seed; held-out scenes and crops: seed 2·runtime.seed + 1.
/// With `model.clip.weights` set, a fresh start begins from those weights.
std::unique_ptr<TrainTask> make_clip_pretrain_task(const Config& config, const std::string& out_dir, bool fresh_start,
                                                   bool main_rank);

}  // namespace pat::engine
