#pragma once
/// \file Which trained model a tool runs when the user names none: `pat_infer image.jpg --classes
/// "cat,sofa"` works right after the README demo, as the product card writes it.

#include <string>

#include "pat/app/cli.h"

namespace pat::app {

/// The folder the tools look into for a trained model when `--weights` is not given (`train.output_dir`
/// of every shipped config lies under it, e.g. runs/demo).
inline constexpr const char* kDefaultRunsDir = "runs";

/// The model files a tool uses and where they came from.
struct ModelFiles {
  std::string weights;             ///< weights file
  std::string config;              ///< config file ("" = the built-in defaults)
  bool weights_defaulted = false;  ///< picked as the newest model_final (no --weights)
  bool config_defaulted = false;   ///< config.yaml found beside the weights (no --config)

  /// One line for the log: "model runs/demo/model_final.pt (newest in runs/), config runs/demo/config.yaml
  /// (written beside the weights)".
  std::string describe() const;
};

/// The config file written for a weights file that is not a run's (e.g. by pat_convert): `<stem>.yaml` beside
/// it (weights/catseg_vitb16.safetensors -> weights/catseg_vitb16.yaml).
std::string config_beside(const std::string& weights);

/// Completes `weights` and `flags.config`: an empty `weights` becomes the newest `model_final.pt` /
/// `model_final.safetensors` in `runs_dir/*/` (by modification time; a `pat::Error` saying how to train one
/// or to pass --weights when there is none); an empty `flags.config` becomes `config_beside(weights)` or else
/// the run's `config.yaml` beside the weights, when one exists. Explicit values are kept as given.
ModelFiles resolve_model_files(std::string& weights, ConfigFlags& flags, const std::string& runs_dir = kDefaultRunsDir);

}  // namespace pat::app
