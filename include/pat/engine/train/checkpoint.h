#pragma once
/// \file Training checkpoints: model, optimizer, step, RNG state, data-loader position and the resolved
/// config in one file, written atomically (temporary file, flush, rename) so a kill never leaves a broken
/// checkpoint. Also the plain weight files (`model_final.pt`, `.safetensors`).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace pat::engine {

/// Everything besides the tensors that an exact resume needs.
struct TrainState {
  int64_t step = 0;           ///< optimizer steps done
  int64_t epoch = 0;          ///< data-loader epoch
  int64_t position = 0;       ///< samples consumed in that epoch
  double best_metric = -1.0;  ///< best validation mIoU so far (-1: none)
  int64_t world_size = 1;     ///< processes that wrote it
  std::string config_yaml;    ///< the resolved config
};

/// Saves model parameters and buffers, the optimizer state (may be null), the CPU RNG state and `state`.
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainState& state);

/// Restores what `save_checkpoint` wrote. Missing or mis-shaped model tensors are a `pat::Error` listing
/// the names. The RNG state is restored too.
TrainState load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer);

/// Writes only the weights (parameters and buffers by name): `.safetensors` when the path ends so, else a
/// LibTorch archive.
void save_weights(const std::string& path, const torch::nn::Module& model);

/// Loads weights written by `save_weights` or the model part of a checkpoint, strictly (every tensor of
/// the model must be present with the same shape; extra tensors are an error too). Errors list names.
void load_weights(const std::string& path, torch::nn::Module& model);

/// The tensors `load_weights` would assign, by name (a `.safetensors` file, a `save_weights` archive or
/// the model part of a checkpoint); an unreadable file is a `pat::Error`.
std::map<std::string, torch::Tensor> read_weights(const std::string& path);

/// The newest `model_*.pt` checkpoint in `dir` by step (`last.pt` wins when present); "" when none.
std::string find_latest_checkpoint(const std::string& dir);

}  // namespace pat::engine
