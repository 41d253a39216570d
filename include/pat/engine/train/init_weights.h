#pragma once
/// \file `model.init_weights`: name-matched initialisation of a model before training, from PAT's
/// checkpoints and weight files (`model_final.pt`, `.safetensors`), files written by `pat_convert`, or an
/// official CAT-Seg checkpoint (torch.save, mapped on the fly as `pat_convert catseg` does).

#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace pat::engine {

/// What `init_weights` did.
struct InitWeightsReport {
  std::string path;
  std::vector<std::string> loaded;      ///< model tensors that took the file's value
  std::vector<std::string> missing;     ///< model tensors the file lacks (they keep their initial values)
  std::vector<std::string> unexpected;  ///< file tensors the model lacks (not used)
};

/// Copies every tensor of the file whose name the model has (parameters and buffers) into it, converted to
/// the model tensor's dtype and device; requires_grad flags are kept. A shape mismatch is a `pat::Error`
/// naming the key and both shapes; nothing is copied then. An unreadable file is a `pat::Error`.
InitWeightsReport init_weights(torch::nn::Module& model, const std::string& path);

/// The report in a few lines: counts, and missing / unexpected names grouped by their first two name
/// components ("pat.tokenizer: 12 tensors (pat.tokenizer.levels.0.proj.weight, ...)").
std::string format_init_report(const InitWeightsReport& report);

}  // namespace pat::engine
