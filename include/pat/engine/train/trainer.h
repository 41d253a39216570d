#pragma once
/// \file The training loop (CATSEG.md §1.10), one for every task (train_task.h: segmentation, CLIP pretraining): AdamW over the model's parameter groups, cosine/poly
/// schedule with warmup, gradient-norm clipping (global, or baseline and PAT apart: grad_clip.h),
/// gradient accumulation (PAT's codebooks are told when each optimizer step ends), periodic logging
/// (metrics.jsonl, progress with ETA), validation, checkpoints (periodic, last, best), exact resume,
/// NaN guard, clean stop on SIGINT/SIGTERM, plots (loss.png, validation.png) and the final weights.
///
/// Data parallel over the ranks of a Communicator (dist_data_parallel.h): `train.batch_size` is the
/// global batch, each rank loads its shard of every global batch (the same samples in the same order as
/// one process), rank 0's model is broadcast at the start, gradients are averaged, the codebooks are
/// kept identical, validation is sharded, and only rank 0 logs, writes metrics, plots and checkpoints.
/// Loss values, the NaN check and a stop request (a signal on any rank) are agreed on by all ranks each
/// step, so they all stop together.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <torch/torch.h>

#include "pat/config/config.h"
#include "pat/engine/dist/communicator.h"
#include "pat/engine/train/train_task.h"

namespace pat::engine {

struct TrainResult {
  int64_t step = 0;           ///< optimizer steps done
  bool interrupted = false;   ///< stopped by a signal (a checkpoint was written)
  int signal = 0;             ///< that signal (on a rank that did not receive it: SIGTERM)
  double best_score = -1;     ///< best validation score (the task's: mIoU, hIoU, ...), -1 without validation
  double last_score = -1;     ///< the last validation score
  std::string final_weights;  ///< the task's final weights, e.g. model_final.pt (empty when interrupted)
};

/// Builds a run's task from (config, output directory, fresh start (no checkpoint to resume), main rank).
using TaskFactory =
    std::function<std::unique_ptr<TrainTask>(const Config&, const std::string& out_dir, bool fresh_start, bool main)>;

class Trainer {
 public:
  /// `config` is the resolved configuration; the runtime (threads, seed, log level) is the caller's.
  /// `comm`: the process group of a multi-process run (null: one process). `task`: what to train (null:
  /// segmentation, `make_segmentation_task`).
  Trainer(Config config, torch::Device device, std::shared_ptr<Communicator> comm = nullptr, TaskFactory task = {});

  /// Trains to `train.max_iter`. `resume`: "" = a fresh start (an earlier run's checkpoints in the output
  /// directory are replaced, with a warning), "auto" = continue from the newest checkpoint of the output
  /// directory when there is one (else a fresh start), else a checkpoint path.
  TrainResult run(const std::string& resume = "");

  /// Test hook: called with each step's (unweighted-sum) loss terms before the NaN check.
  std::function<void(int64_t step, std::map<std::string, torch::Tensor>& losses)> loss_hook;

 private:
  Config config_;
  torch::Device device_;
  std::shared_ptr<Communicator> comm_;
  TaskFactory make_task_;
};

}  // namespace pat::engine
