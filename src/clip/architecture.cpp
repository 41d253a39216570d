#include "pat/clip/architecture.h"

#include <cmath>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/strings.h"

namespace pat::clip {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const torch::Tensor& require(const std::map<std::string, torch::Tensor>& weights, const std::string& name) {
  auto it = weights.find(name);
  PAT_CHECK(it != weights.end(), "CLIP architecture: weights lack \"", name, "\" (not an OpenAI-style ViT CLIP)");
  return it->second;
}

/// Distinct block indices under `prefix` ("visual.transformer.resblocks." or "transformer.resblocks.").
int64_t count_blocks(const std::map<std::string, torch::Tensor>& weights, const std::string& prefix) {
  std::set<std::string> indices;
  for (const auto& [name, value] : weights) {
    if (!starts_with(name, prefix)) continue;
    if (!ends_with(name, ".attn.in_proj_weight") && !ends_with(name, ".attn.q_proj_weight")) continue;
    indices.insert(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
  }
  return static_cast<int64_t>(indices.size());
}

int64_t heads_for(int64_t width, int64_t head_dim, const char* tower) {
  PAT_CHECK(head_dim > 0, "CLIP architecture: head_dim must be positive, got ", head_dim);
  PAT_CHECK(width % head_dim == 0, "CLIP architecture: ", tower, " width ", width, " is not a multiple of head_dim ",
            head_dim);
  return width / head_dim;
}

}  // namespace

void ClipArchitecture::validate() const {
  const int64_t sizes[] = {embed_dim,         image_resolution, vision_layers,  vision_width,
                           vision_patch_size, vision_heads,     context_length, vocab_size,
                           text_width,        text_heads,       text_layers};
  for (int64_t s : sizes) PAT_CHECK(s > 0, "CLIP architecture: every size must be positive, got ", to_string(*this));
  PAT_CHECK(image_resolution % vision_patch_size == 0, "CLIP architecture: image_resolution ", image_resolution,
            " is not a multiple of the patch size ", vision_patch_size);
  PAT_CHECK(vision_width % vision_heads == 0, "CLIP architecture: vision width ", vision_width,
            " is not divisible by vision_heads ", vision_heads);
  PAT_CHECK(text_width % text_heads == 0, "CLIP architecture: text width ", text_width,
            " is not divisible by text_heads ", text_heads);
}

ClipArchitecture ClipArchitecture::preset(const std::string& name) {
  ClipArchitecture a;  // defaults are ViT-B/16
  if (name == "ViT-B-16" || name == "ViT-B/16") return a;
  if (name == "ViT-B-32" || name == "ViT-B/32") {
    a.vision_patch_size = 32;
    return a;
  }
  if (name == "ViT-L-14" || name == "ViT-L/14" || name == "ViT-L-14-336" || name == "ViT-L/14@336px") {
    a.embed_dim = 768;
    a.vision_layers = 24;
    a.vision_width = 1024;
    a.vision_patch_size = 14;
    a.vision_heads = 16;
    a.text_width = 768;
    a.text_heads = 12;
    if (name == "ViT-L-14-336" || name == "ViT-L/14@336px") a.image_resolution = 336;
    return a;
  }
  if (name == "tiny") {
    a.embed_dim = 64;
    a.image_resolution = 32;
    a.vision_layers = 2;
    a.vision_width = 64;
    a.vision_patch_size = 8;
    a.vision_heads = 2;
    a.text_width = 64;
    a.text_heads = 2;
    a.text_layers = 2;
    return a;
  }
  PAT_FAIL("CLIP architecture: unknown preset \"", name, "\" (expected one of ", joined(preset_names()), ")");
}

std::vector<std::string> ClipArchitecture::preset_names() {
  return {"ViT-B-16", "ViT-B-32", "ViT-L-14", "ViT-L-14-336", "tiny"};
}

bool ClipArchitecture::operator==(const ClipArchitecture& o) const {
  return embed_dim == o.embed_dim && image_resolution == o.image_resolution && vision_layers == o.vision_layers &&
         vision_width == o.vision_width && vision_patch_size == o.vision_patch_size && vision_heads == o.vision_heads &&
         context_length == o.context_length && vocab_size == o.vocab_size && text_width == o.text_width &&
         text_heads == o.text_heads && text_layers == o.text_layers;
}

std::string to_string(const ClipArchitecture& a) {
  std::ostringstream out;
  out << "vision " << a.vision_width << "x" << a.vision_layers << " patch " << a.vision_patch_size << " @"
      << a.image_resolution << " heads " << a.vision_heads << ", text " << a.text_width << "x" << a.text_layers
      << " heads " << a.text_heads << " ctx " << a.context_length << " vocab " << a.vocab_size << ", embed "
      << a.embed_dim;
  return out.str();
}

ClipArchitecture infer_clip_architecture(const std::map<std::string, torch::Tensor>& weights, int64_t head_dim) {
  PAT_CHECK(weights.count("visual.proj"),
            "CLIP architecture: weights lack \"visual.proj\" (only ViT CLIP models are supported, not ResNet ones)");
  ClipArchitecture a;
  const auto& conv1 = require(weights, "visual.conv1.weight");
  PAT_CHECK(conv1.dim() == 4, "CLIP architecture: visual.conv1.weight must be 4-D, got ", conv1.sizes());
  a.vision_width = conv1.size(0);
  a.vision_patch_size = conv1.size(-1);
  a.vision_layers = count_blocks(weights, "visual.transformer.resblocks.");
  const auto& vpos = require(weights, "visual.positional_embedding");
  PAT_CHECK(vpos.dim() == 2 && vpos.size(0) >= 2,
            "CLIP architecture: visual.positional_embedding must be [G*G+1, W], got ", vpos.sizes());
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(vpos.size(0) - 1))));
  a.image_resolution = a.vision_patch_size * grid;
  a.vision_heads = heads_for(a.vision_width, head_dim, "vision");
  a.embed_dim = require(weights, "text_projection").size(1);
  a.context_length = require(weights, "positional_embedding").size(0);
  a.vocab_size = require(weights, "token_embedding.weight").size(0);
  a.text_width = require(weights, "ln_final.weight").size(0);
  a.text_heads = heads_for(a.text_width, head_dim, "text");
  a.text_layers = count_blocks(weights, "transformer.resblocks.");
  PAT_CHECK(a.vision_layers > 0 && a.text_layers > 0, "CLIP architecture: found ", a.vision_layers, " vision and ",
            a.text_layers, " text blocks (expected *.attn.in_proj_weight or *.attn.q_proj_weight)");
  a.validate();
  return a;
}

}  // namespace pat::clip
