#pragma once
/// \file pat_train's task: the segmentation model (CAT-Seg head, PAT when enabled) on the configured
/// training set, validated with the evaluation protocol on the validation set (mIoU; with a declared
/// seen/unseen split also seen / unseen mIoU and hIoU, and then hIoU decides best.pt).

#include <memory>
#include <string>

#include "pat/config/config.h"
#include "pat/engine/train/train_task.h"

namespace pat::engine {

/// Builds the model (from `model.init_weights` on a fresh start when set; `fresh_start` false skips that,
/// a checkpoint will overwrite the weights), its datasets and classes; writes classes.json into `out_dir`
/// on the main rank. Prediction previews of the final validation go to `out_dir`/predictions.
std::unique_ptr<TrainTask> make_segmentation_task(const Config& config, const std::string& out_dir, bool fresh_start,
                                                  bool main_rank);

}  // namespace pat::engine
