#include "pat/model/catseg_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "pat/clip/architecture.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/safetensors.h"
#include "pat/core/strings.h"
#include "pat/core/torch_save.h"
#include "pat/model/seg_model.h"

namespace pat::model {
namespace {

const std::string kHead = "sem_seg_head.predictor.transformer.";
const std::string kClip = "sem_seg_head.predictor.clip_model.";

torch::Tensor as_float32(const torch::Tensor& t) {
  return t.is_floating_point() ? t.to(torch::kFloat32).contiguous() : t.contiguous();
}

/// Why an official key has no place in PAT's model, or "" when it is mapped.
std::string ignore_reason(const std::string& name) {
  if (name == "pixel_mean" || name == "pixel_std" || name == "clip_pixel_mean" || name == "clip_pixel_std")
    return "normalization constant (built into PAT's model)";
  if (starts_with(name, kClip)) {
    const std::string rest = name.substr(kClip.size());
    if (rest == "input_resolution" || rest == "context_length" || rest == "vocab_size")
      return "CLIP archive buffer (sizes are inferred from the weights)";
    if (ends_with(rest, "attn_mask")) return "CLIP causal mask (rebuilt by PAT)";
    if (ends_with(rest, "prompt_tokens")) return "VPT prompt tokens (PROMPT_DEPTH > 0 is not supported)";
  }
  if (starts_with(name, "backbone.")) return "extra backbone of the v1 CAT-Seg models (not supported)";
  if (!starts_with(name, kHead) && !starts_with(name, kClip) && !starts_with(name, "upsample1.") &&
      !starts_with(name, "upsample2."))
    return "not part of the CAT-Seg model PAT knows";
  return "";
}

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& t, const std::string& name, int64_t dims) {
  auto it = t.find(name);
  PAT_CHECK(it != t.end(), "CAT-Seg weights: no tensor \"", name, "\" (is this a CAT-Seg checkpoint?)");
  PAT_CHECK(it->second.dim() == dims, "CAT-Seg weights: \"", name, "\" should have ", dims, " dimensions, got ",
            it->second.sizes());
  return it->second;
}

std::string shape_string(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

}  // namespace

CatSegImport map_catseg_state_dict(const std::map<std::string, torch::Tensor>& official) {
  CatSegImport out;
  auto add = [&](const std::string& from, const std::string& to, const torch::Tensor& t) {
    out.tensors[to] = as_float32(t);
    out.mapped.emplace_back(from, to);
  };
  for (const auto& [name, value] : official) {
    const std::string reason = ignore_reason(name);
    if (!reason.empty()) {
      out.ignored.emplace_back(name, reason);
      continue;
    }
    if (starts_with(name, kHead)) {
      add(name, "head." + name.substr(kHead.size()), value);
    } else if (starts_with(name, "upsample1.") || starts_with(name, "upsample2.")) {
      add(name, "upsamplers." + name, value);
    } else {  // CLIP
      const std::string ours = "clip." + name.substr(kClip.size());
      const std::string packed = "in_proj_weight";
      if (ends_with(ours, ".attn." + packed)) {
        PAT_CHECK(value.dim() == 2 && value.size(0) == 3 * value.size(1), "CAT-Seg weights: \"", name,
                  "\" should be [3D, D], got ", value.sizes());
        const std::string base = ours.substr(0, ours.size() - packed.size());
        auto parts = value.chunk(3, 0);
        const char* split[] = {"q_proj_weight", "k_proj_weight", "v_proj_weight"};
        for (int i = 0; i < 3; ++i) add(name + "[" + std::to_string(i) + "/3]", base + split[i], parts[i]);
      } else {
        add(name, ours, value);
      }
    }
  }
  return out;
}

ModelConfig catseg_model_config(const std::map<std::string, torch::Tensor>& t, ModelConfig base) {
  ModelConfig config = std::move(base);
  // CLIP
  std::map<std::string, torch::Tensor> clip_weights;
  for (const auto& [name, value] : t)
    if (starts_with(name, "clip.")) clip_weights[name.substr(5)] = value;
  PAT_CHECK(!clip_weights.empty(), "CAT-Seg weights: no CLIP tensors (clip.*)");
  const auto arch = clip::infer_clip_architecture(clip_weights);
  auto& c = config.clip;
  c.weights.clear();
  c.arch = "custom";
  for (const auto& name : clip::ClipArchitecture::preset_names())
    if (clip::ClipArchitecture::preset(name) == arch) c.arch = name;
  if (c.arch == "custom") {
    c.image_size = arch.image_resolution;
    c.vision_width = arch.vision_width;
    c.vision_layers = arch.vision_layers;
    c.vision_patch = arch.vision_patch_size;
    c.text_width = arch.text_width;
    c.text_layers = arch.text_layers;
    c.embed_dim = arch.embed_dim;
    c.context_length = arch.context_length;
    c.head_width = 64;
    if (arch.vocab_size == 514) c.tokenizer = "byte";
  } else {
    c.image_size = 24 * arch.vision_patch_size;  // FEATURE_RESOLUTION [24, 24] of both official models
  }
  c.taps = {arch.vision_layers / 3 - 1, 2 * arch.vision_layers / 3 - 1};
  // Head
  auto& h = config.head;
  int64_t layers = 0;
  while (t.count("head.layers." + std::to_string(layers) + ".swin_block.block_1.norm1.weight")) ++layers;
  PAT_CHECK(layers > 0, "CAT-Seg weights: no aggregator layers (head.layers.0.*)");
  h.num_layers = layers;
  const auto& conv1 = need(t, "head.conv1.weight", 4);
  PAT_CHECK(conv1.size(1) == 1, "CAT-Seg weights: head.conv1 takes ", conv1.size(1),
            " prompt channels; PAT averages templates into 1 (PROMPT_ENSEMBLE_TYPE single)");
  h.hidden_dim = conv1.size(0);
  h.text_guidance_proj_dim = need(t, "head.text_guidance_projection.0.weight", 2).size(0);
  h.appearance_guidance_proj_dim = need(t, "head.guidance_projection.0.weight", 4).size(0);
  h.decoder_guidance_dims = {need(t, "upsamplers.upsample1.weight", 4).size(1),
                             need(t, "upsamplers.upsample2.weight", 4).size(1)};
  h.decoder_guidance_proj_dims = {need(t, "head.decoder_guidance_projection.0.0.weight", 4).size(0),
                                  need(t, "head.decoder_guidance_projection.1.0.weight", 4).size(0)};
  h.decoder_dims = {need(t, "head.decoder1.conv.double_conv.0.weight", 4).size(0),
                    need(t, "head.decoder2.conv.double_conv.0.weight", 4).size(0)};
  h.num_heads = 4;
  h.pad_len = t.count("head.layers.0.attention.padding_tokens") ? 256 : 0;
  auto mask = t.find("head.layers.0.swin_block.block_2.attn_mask");
  const int64_t grid = c.image_size / arch.vision_patch_size;
  if (mask != t.end() && mask->second.dim() == 3) {
    h.window_size = std::llround(std::sqrt(static_cast<double>(mask->second.size(1))));
  } else {
    h.window_size = std::max<int64_t>(grid, 12);  // no shifted block: the window covers the grid
  }
  config.pat.enabled = false;
  return config;
}

CatSegConversion convert_catseg_checkpoint(const std::string& input, const std::string& output, bool strict) {
  CatSegConversion conv;
  auto state = read_torch_state_dict(input, "model");
  conv.entry = state.entry;
  conv.skipped = state.skipped;
  conv.import = map_catseg_state_dict(state.tensors);
  state.tensors.clear();
  conv.config = catseg_model_config(conv.import.tensors);

  // Compare with the model these tensors imply.
  SegModel model(conv.config);
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model->named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : model->named_buffers(true)) targets[b.key()] = b.value();
  std::vector<std::string> bad_shape;
  for (auto it = conv.import.tensors.begin(); it != conv.import.tensors.end();) {
    auto target = targets.find(it->first);
    if (target == targets.end()) {
      conv.import.ignored.emplace_back(it->first, "no such tensor in PAT's model");
      it = conv.import.tensors.erase(it);
      continue;
    }
    if (!target->second.sizes().equals(it->second.sizes()))
      bad_shape.push_back(it->first + " " + shape_string(it->second) +
                          " (PAT's model: " + shape_string(target->second) + ")");
    ++it;
  }
  PAT_CHECK(bad_shape.empty(), input, ": ", bad_shape.size(), " tensors do not fit the implied model, e.g. ",
            bad_shape.front());
  for (const auto& [name, value] : targets)
    if (!conv.import.tensors.count(name)) conv.without_value.push_back(name);
  if (strict) {
    PAT_CHECK(conv.import.ignored.empty(), input, ": --strict: ", conv.import.ignored.size(), " keys ignored, e.g. ",
              conv.import.ignored.front().first, " (", conv.import.ignored.front().second, ")");
    PAT_CHECK(conv.without_value.empty(), input, ": --strict: ", conv.without_value.size(),
              " parameters of PAT's model have no value, e.g. ", conv.without_value.front());
  }
  std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"producer", "pat_convert catseg"},
      {"source", std::filesystem::path(input).filename().string()},
      {"model.clip.arch", conv.config.clip.arch},
      {"model.clip.image_size", std::to_string(conv.config.clip.image_size)},
      {"model.clip.taps", std::to_string(conv.config.clip.taps[0]) + "," + std::to_string(conv.config.clip.taps[1])}};
  write_safetensors(output, conv.import.tensors, metadata);
  PAT_LOG_INFO("{}: wrote {} tensors", output, conv.import.tensors.size());
  return conv;
}

std::string format_catseg_conversion(const CatSegConversion& c) {
  std::ostringstream out;
  char line[256];
  auto row = [&](const std::string& what, size_t count, const std::string& note) {
    std::snprintf(line, sizeof line, "%-34s %8zu  %s\n", what.c_str(), count, note.c_str());
    out << line;
  };
  // Mapped keys, counted by PAT module.
  std::map<std::string, size_t> by_module;
  for (const auto& [from, to] : c.import.mapped)
    if (c.import.tensors.count(to)) ++by_module[to.substr(0, to.find('.'))];
  std::snprintf(line, sizeof line, "%-34s %8s  %s\n", "", "tensors", "");
  out << line;
  size_t mapped = 0;
  for (const auto& [module, n] : by_module) {
    row("mapped -> " + module + ".*", n, "");
    mapped += n;
  }
  row("mapped (total)", mapped, c.entry.empty() ? "" : "from the \"" + c.entry + "\" entry");
  // Ignored keys, grouped by reason.
  std::map<std::string, std::vector<std::string>> by_reason;
  for (const auto& [name, reason] : c.import.ignored) by_reason[reason].push_back(name);
  for (const auto& [name, reason] : c.skipped) by_reason[reason].push_back(name);
  for (const auto& [reason, names] : by_reason) {
    std::string example = names.front() + (names.size() > 1 ? ", ..." : "");
    row("ignored", names.size(), reason + ": " + example);
  }
  if (by_reason.empty()) row("ignored", 0, "");
  // Parameters without a value.
  row("PAT parameters without a value", c.without_value.size(),
      c.without_value.empty() ? "" : c.without_value.front() + (c.without_value.size() > 1 ? ", ..." : ""));
  const auto& cc = c.config.clip;
  out << "implied model: clip.arch " << cc.arch << ", clip.image_size " << cc.image_size << ", clip.taps ["
      << cc.taps[0] << ", " << cc.taps[1] << "], head: " << c.config.head.num_layers << " layers, width "
      << c.config.head.hidden_dim << ", window " << c.config.head.window_size << ", pad_len " << c.config.head.pad_len
      << "; model.pat.enabled false\n";
  return out.str();
}

}  // namespace pat::model
