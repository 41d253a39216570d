#pragma once
/// \file The official CAT-Seg checkpoints (`model_base.pth`, `model_large.pth`: detectron2 format, the
/// whole `CATSeg` module, CLIP included) in PAT's names (docs/catseg_checkpoint_keys.md):
///
///   sem_seg_head.predictor.transformer.X  -> head.X
///   upsample1.X / upsample2.X              -> upsamplers.upsample1.X / upsamplers.upsample2.X
///   sem_seg_head.predictor.clip_model.X    -> clip.X (a packed attn.in_proj_weight is split into
///                                             attn.q_proj_weight / k_proj_weight / v_proj_weight)
///
/// plus the model configuration those tensors imply, and the whole conversion with its report.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "pat/config/config.h"

namespace pat::model {

/// The official tensors in PAT's names, and what happened to each official key.
struct CatSegImport {
  std::map<std::string, torch::Tensor> tensors;              ///< PAT name -> tensor (floats as float32)
  std::vector<std::pair<std::string, std::string>> mapped;   ///< official name -> PAT name
  std::vector<std::pair<std::string, std::string>> ignored;  ///< official name, reason
};

/// Maps an official state dict (keys as `CATSeg.state_dict()` names them) to PAT's names. Keys PAT has
/// no use for are listed in `ignored` with the reason (normalization constants, CLIP's archive buffers and
/// causal mask, VPT prompt tokens, anything unknown). A packed in_proj_weight that is not [3D, D] is a
/// `pat::Error`.
CatSegImport map_catseg_state_dict(const std::map<std::string, torch::Tensor>& official);

/// The model configuration the mapped tensors (PAT names) imply, with PAT off: CLIP from the `clip.*`
/// tensors (a named preset when the sizes match one, e.g. ViT-B-16, else explicit custom sizes); the input
/// size of the official models (a 24 x 24 patch grid: 384 for ViT-B/16, 336 for ViT-L/14@336; the
/// positional grid's own size for custom sizes); taps {L/3 - 1, 2L/3 - 1} (3, 7 and 7, 15 as the official
/// models); head widths, layer count and window size from the head's tensors; the official 4 heads and
/// pad_len 256 (not visible in the tensors). Other sections keep `base`. Missing tensors: `pat::Error`.
ModelConfig catseg_model_config(const std::map<std::string, torch::Tensor>& tensors, ModelConfig base = {});

/// The outcome of `convert_catseg_checkpoint`.
struct CatSegConversion {
  CatSegImport import;                                       ///< mapped and ignored keys
  std::vector<std::pair<std::string, std::string>> skipped;  ///< non-tensor values of the file, with reason
  std::vector<std::string> without_value;  ///< parameters/buffers of the implied model that got no tensor
  ModelConfig config;                      ///< the implied model configuration
  std::string entry;                       ///< the checkpoint entry read ("model")
};

/// Reads a torch.save checkpoint (detectron2's {"model": state_dict, ...} or a bare state dict), maps it,
/// compares it with a model built from `catseg_model_config`, and writes the mapped tensors to `output` as
/// safetensors (atomically). With `strict`, ignored keys or parameters without a value are a `pat::Error`
/// (and nothing is written).
CatSegConversion convert_catseg_checkpoint(const std::string& input, const std::string& output, bool strict = false);

/// The conversion report as an aligned table (mapped count, ignored keys with reasons, parameters
/// without a value, the implied configuration).
std::string format_catseg_conversion(const CatSegConversion& conversion);

}  // namespace pat::model
