#pragma once
/// \file Reading CLIP weights (OpenAI's released TorchScript archives, or safetensors with the same names)
/// and putting them into a `ClipModel` (shared/design/CLIP.md §1, §3).

#include <cstdint>
#include <map>
#include <string>

#include <torch/types.h>

#include "pat/clip/model.h"

namespace pat::clip {

/// Tensors by OpenAI state-dict name.
using ClipWeights = std::map<std::string, torch::Tensor>;

/// Reads a weights file, chosen by content: a zip (TorchScript archive as OpenAI released them, read with
/// `torch::jit::load(path, kCPU)`; parameters and buffers by full dotted name) or safetensors. Floating
/// tensors become float32 (the archives store many in float16); the archive's 3 integer buffers
/// `input_resolution`, `context_length`, `vocab_size` are skipped. When `prefix` is non-empty only names
/// starting with it are kept, with the prefix removed (e.g. "sem_seg_head.predictor.clip_model.").
/// Missing file, neither format, or an unreadable archive: `pat::Error`.
ClipWeights load_clip_weights(const std::string& path, const std::string& prefix = "");

/// Copies `weights` into the model's parameters. A packed `*.attn.in_proj_weight` [3D, D] is split into
/// `q_proj_weight`/`k_proj_weight`/`v_proj_weight`; split names are accepted as they are. Missing tensors
/// and shape mismatches are one `pat::Error` listing every offending name (with both shapes); with `strict`,
/// names the model does not have are errors too (`attn_mask` and the 3 archive buffers are always ignored).
/// Values are converted to each parameter's dtype and device; requires_grad flags are kept.
void load_weights_into(ClipModelImpl& model, const ClipWeights& weights, bool strict = true);

/// The model's parameters by name (split q/k/v naming), detached; for export with `write_safetensors`.
ClipWeights clip_state_dict(const ClipModelImpl& model);

struct ClipLoadOptions {
  int64_t head_dim = 64;  ///< heads = width / head_dim when inferring the architecture (64 for OpenAI models)
  torch::Dtype dtype =
      torch::kFloat32;         ///< weight dtype after loading (float16/bfloat16 for reduced-precision GPU inference)
  std::string device = "cpu";  ///< "cpu", "cuda", "cuda:N"
  std::string prefix;          ///< name prefix to select and strip (see `load_clip_weights`)
};

/// `load_clip_weights` + `infer_clip_architecture` + a model built from it + `load_weights_into` (strict),
/// moved to the requested dtype/device, in eval mode.
ClipModel load_clip(const std::string& path, const ClipLoadOptions& options = {});

}  // namespace pat::clip
