#pragma once
/// \file Which CLIP parameters train: CAT-Seg's "attention" mode trains only the Q and V projection
/// weights of every block in both towers (shared/design/CATSEG.md §1.3).

#include <cstdint>
#include <string>

#include "pat/clip/model.h"

namespace pat::clip {

enum class FinetuneMode {
  kFrozen,     ///< nothing trains
  kAttention,  ///< only `*transformer*.attn.q_proj_weight` and `...v_proj_weight` (both towers)
  kFull,       ///< everything trains
};

/// "frozen" | "attention" | "full"; anything else is a `pat::Error` listing the choices.
FinetuneMode parse_finetune_mode(const std::string& name);
std::string to_string(FinetuneMode mode);

/// CAT-Seg's rule for "attention": a parameter trains iff its name contains "transformer", "attn" and
/// ("q_proj" or "v_proj").
bool is_trainable(const std::string& parameter_name, FinetuneMode mode);

/// Sets requires_grad on every parameter of `model` by `is_trainable`. Returns the number of trainable
/// tensors.
int64_t set_finetune_mode(ClipModelImpl& model, FinetuneMode mode);

}  // namespace pat::clip
