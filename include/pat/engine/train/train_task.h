#pragma once
/// \file What a training run trains. The loop (trainer.h: optimizer, schedule, clipping, accumulation,
/// logging, checkpoints, exact resume, signals, data parallel) is one; a task supplies the model, the data
/// and what a batch's losses and a validation are. Tasks: segmentation (pat_train, seg_task.h) and
/// contrastive CLIP pretraining (pat_clip pretrain, clip_pretrain_task.h).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "pat/data/dataset.h"
#include "pat/data/loader.h"
#include "pat/data/transforms.h"
#include "pat/engine/dist/communicator.h"
#include "pat/model/seg_model.h"

namespace pat::engine {

/// One micro-batch's forward: loss terms (their sum is back-propagated) and statistics to log.
struct TaskStep {
  std::map<std::string, torch::Tensor> losses;
  std::map<std::string, double> stats;
};

/// One validation pass.
struct TaskValidation {
  double score = -1;       ///< the value best.pt follows (higher is better)
  nlohmann::json metrics;  ///< logged to metrics.jsonl with the step (must hold the task's score_key)
  std::string summary;     ///< one log line, e.g. "val mIoU 61.20  fwIoU ..."
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  /// The module checkpoints hold and every rank keeps identical.
  virtual torch::nn::Module& module() = 0;
  /// Trainable parameters with their learning-rate scale and weight-decay flag.
  virtual std::vector<model::ParamGroup> param_groups() const = 0;
  virtual std::shared_ptr<data::Dataset> train_set() const = 0;
  virtual data::TransformPtr train_transform() const = 0;
  /// Forward of one batch (the loop puts it on the device and applies autocast).
  virtual TaskStep forward(const data::Batch& batch, torch::Device device) = 0;
  /// After every optimizer step (PAT's codebooks age their codes; CLIP clamps its logit scale).
  virtual void end_step() {}
  /// After rank 0's module was broadcast (PAT keeps one codebook on every rank).
  virtual void after_broadcast(Communicator& comm) { (void)comm; }
  virtual bool has_validation() const = 0;
  /// Key of the score in `TaskValidation::metrics` (plots and logs name it).
  virtual std::string score_key() const = 0;
  /// Validation metrics to plot (validation.png), the score first.
  virtual std::vector<std::string> plot_keys() const { return {score_key()}; }
  /// Validates (sharded over `comm`'s ranks, every rank gets the result); the final pass may write previews.
  virtual TaskValidation validate(bool final_pass, Communicator& comm) = 0;
  /// Writes the final weights into `dir` (main rank only) and returns the main file's path.
  virtual std::string write_final(const std::string& dir) = 0;
};

}  // namespace pat::engine
