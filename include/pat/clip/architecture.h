#pragma once
/// \file The hyperparameters of an OpenAI-style ViT CLIP: named presets, inference from a weights map
/// (as OpenAI's `build_model` does, shared/design/CLIP.md §1), and explicit sizes for tiny models.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace pat::clip {

/// Sizes of both towers. Doubles as the options of `ClipModel`.
struct ClipArchitecture {
  int64_t embed_dim = 512;         ///< joint embedding size E (output of both towers)
  int64_t image_resolution = 224;  ///< native input side; positional grid = image_resolution / vision_patch_size
  int64_t vision_layers = 12;      ///< residual blocks in the image tower
  int64_t vision_width = 768;      ///< image tower width W
  int64_t vision_patch_size = 16;  ///< patch side P (conv1 kernel and stride)
  int64_t vision_heads = 12;       ///< attention heads of the image tower (W / 64 for OpenAI models)
  int64_t context_length = 77;     ///< text positions (size of the text positional embedding)
  int64_t vocab_size = 49408;      ///< token embedding rows; the end-of-text id must be the largest id used
  int64_t text_width = 512;        ///< text tower width T ("transformer_width" in OpenAI's code)
  int64_t text_heads = 8;          ///< attention heads of the text tower (T / 64 for OpenAI models)
  int64_t text_layers = 12;        ///< residual blocks in the text tower

  /// Positional grid side G = image_resolution / vision_patch_size.
  int64_t grid() const { return image_resolution / vision_patch_size; }

  /// Throws `pat::Error` when a size is non-positive or a width is not divisible by its head count.
  void validate() const;

  /// "ViT-B-16", "ViT-B-32", "ViT-L-14", "ViT-L-14-336" (OpenAI's released models; "ViT-B/16" etc. are
  /// accepted too) and "tiny" (vision 64x2 patch 8 at 32 px, text 64x2, E 64, the real 49408 vocabulary:
  /// a model for smoke runs trained from scratch). Unknown name: `pat::Error` listing the names.
  static ClipArchitecture preset(const std::string& name);

  /// The names `preset` accepts (canonical spellings).
  static std::vector<std::string> preset_names();

  bool operator==(const ClipArchitecture& other) const;
  bool operator!=(const ClipArchitecture& other) const { return !(*this == other); }
};

/// One line, e.g. "vision 768x12 patch 16 @224 heads 12, text 512x12 heads 8 ctx 77 vocab 49408, embed 512".
std::string to_string(const ClipArchitecture& arch);

/// Infers the architecture from weights named as OpenAI's state dict (packed `attn.in_proj_weight` or
/// split `attn.q_proj_weight` both count), exactly as `build_model`: widths from conv1 / ln_final,
/// patch from conv1, grid = round(sqrt(visual.positional_embedding rows - 1)), layer counts from the
/// block indices, heads = width / `head_dim` (64 for every OpenAI model). A missing tensor, a ResNet
/// model (no `visual.proj`) or a width not divisible by `head_dim` is a `pat::Error`.
ClipArchitecture infer_clip_architecture(const std::map<std::string, torch::Tensor>& weights, int64_t head_dim = 64);

}  // namespace pat::clip
