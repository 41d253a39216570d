#pragma once
/// \file The whole-model benchmark behind `bench_model` (docs/performance.md): a SegModel built from a
/// config with random weights, and the three workloads it times: an inference forward, the sliding-window
/// evaluation of one image, and a training step (forward + backward + AdamW). It runs where the config's
/// `runtime` says: device, precision (bf16 autocast on CUDA), TF32, channels-last; every workload returns
/// only once the device has finished it.

#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "pat/config/config.h"
#include "pat/engine/eval/inference_protocol.h"
#include "pat/model/seg_model.h"

namespace pat::engine {

struct ModelBenchOptions {
  int64_t classes = 150;       ///< vocabulary size (synthetic class names)
  int64_t batch = 1;           ///< images per inference forward
  int64_t image_height = 640;  ///< the evaluated image (the sliding window warps it to out_res²)
  int64_t image_width = 853;
  int64_t train_batch = 2;      ///< images per training step (crop size = model.clip.image_size)
  bool inference_mode = false;  ///< forward / eval under c10::InferenceMode instead of NoGradGuard
  bool batched_views = true;    ///< sliding-window views in one forward (false: one forward per view)
  bool skip_vanishing = true;   ///< SlidingWindowOptions::skip_vanishing
  uint64_t seed = 0;
};

/// `config` made runnable without files: random weights (model.clip.weights cleared), the byte-level
/// tokenizer when the BPE vocabulary file is missing, the sliding-window eval protocol.
Config bench_config(Config config);

class ModelBench {
 public:
  ModelBench(const Config& config, const ModelBenchOptions& options);

  /// Sets a vocabulary of `count` synthetic names ("class 0", ...); text embeddings are computed on the
  /// next eval-mode forward (the first forward after this is slower).
  void set_classes(int64_t count);

  /// One inference forward at options.batch and the model resolution: logits [B, T, h, w].
  torch::Tensor forward();

  /// The sliding-window protocol on the benchmark image (random, options.image_height x image_width).
  SegPrediction eval_image();

  /// Forward with labels, backward, AdamW step at options.train_batch. Returns the loss.
  double train_step();

  model::SegModelImpl& model() { return *model_; }
  const Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  const ModelBenchOptions& options() const { return options_; }
  ModelBenchOptions& options() { return options_; }

 private:
  Config config_;
  ModelBenchOptions options_;
  torch::Device device_{torch::kCPU};
  model::SegModel model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  torch::Tensor image_, view_, train_images_, train_labels_;
};

}  // namespace pat::engine
