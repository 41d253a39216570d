#include "pat/model/seg_model.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "pat/clip/architecture.h"
#include "pat/clip/finetune.h"
#include "pat/clip/weights.h"
#include "pat/model/clip_setup.h"
#include "pat/core/error.h"
#include "pat/core/resources.h"
#include "pat/data/class_list.h"
#include "pat/model/catseg/seg_loss.h"
#include "pat/model/pat/losses.h"

namespace pat::model {
namespace {

// CLIP's normalization on 0..255 RGB (CATSEG.md §1.2).
const double kPixelMean[3] = {122.7709383, 116.7460125, 104.09373615};
const double kPixelStd[3] = {68.5005327, 66.6321579, 70.3231630};

torch::Tensor pixel_stats(const double (&values)[3], const torch::Tensor& like) {
  return torch::tensor({values[0], values[1], values[2]}, like.options()).view({1, 3, 1, 1});
}

CatSegHeadOptions head_options(const HeadConfig& h, int64_t embed_dim, int64_t grid) {
  CatSegHeadOptions o;
  o.text_guidance_dim = embed_dim;
  o.text_guidance_proj_dim = h.text_guidance_proj_dim;
  o.appearance_guidance_dim = embed_dim;
  o.appearance_guidance_proj_dim = h.appearance_guidance_proj_dim;
  o.decoder_dims = h.decoder_dims;
  o.decoder_guidance_dims = h.decoder_guidance_dims;
  o.decoder_guidance_proj_dims = h.decoder_guidance_proj_dims;
  o.num_layers = h.num_layers;
  o.num_heads = h.num_heads;
  o.hidden_dim = h.hidden_dim;
  o.pooling_size = h.pooling_sizes.front();
  o.eval_pooling_size = 1;
  o.feature_resolution = {grid, grid};
  o.window_size = h.window_size;
  o.prompt_channel = 1;  // templates are averaged into one embedding per class
  o.pad_len = h.pad_len;
  return o;
}

PyramidPatOptions pat_options(const PatConfig& p, const HeadConfig& h, int64_t embed_dim) {
  PyramidPatOptions o;
  o.tokenizer.level_channels = {h.decoder_guidance_dims[1], h.decoder_guidance_dims[0], embed_dim};
  o.tokenizer.levels = p.levels;
  o.tokenizer.quantizer = p.quantizer;
  o.tokenizer.codebook.dim = p.code_dim;
  o.tokenizer.codebook.codebook_size = p.codebook_size;
  o.tokenizer.codebook.decay = p.ema_decay;
  o.tokenizer.codebook.dead_code_steps = p.dead_code_steps;
  o.tokenizer.decoupled = p.decoupled;
  o.tokenizer.compose = p.compose;
  o.pixel_branch = p.reconstruction_weight > 0;
  o.decoder.stage_dims = p.decoder_dims;
  o.decoder.full_resolution = p.decoder_resolution == "full";
  o.fusion.fused_dim = p.fusion_dim;
  o.fusion.guidance_dims = {h.appearance_guidance_proj_dim, h.decoder_guidance_proj_dims[0],
                            h.decoder_guidance_proj_dims[1]};
  o.fusion.shared = p.fusion == "shared";
  o.aux_head = p.aux_enabled;
  o.aux.text_dim = embed_dim;
  o.aux.logit_scale = p.aux_logit_scale;
  o.aux.logit_bias = p.aux_logit_bias;
  return o;
}

int64_t count(const std::vector<torch::Tensor>& params, bool trainable_only) {
  int64_t n = 0;
  for (const auto& p : params)
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace

SegModelImpl::SegModelImpl(const ModelConfig& config) : config_(config) {
  const auto& c = config_.clip;
  clip::ClipWeights weights;
  clip::ClipArchitecture arch;
  if (!c.weights.empty()) {
    weights = clip::load_clip_weights(c.weights);
    arch = clip::infer_clip_architecture(weights, c.head_width);
  } else if (c.arch == "custom") {
    arch = custom_clip_architecture(c);
  } else {
    arch = clip::ClipArchitecture::preset(c.arch);
  }
  PAT_CHECK(arch.vocab_size >= tokenizer_vocab_size(c), "model.clip.tokenizer: the ", c.tokenizer, " tokenizer has ",
            tokenizer_vocab_size(c), " ids but the CLIP text tower only ", arch.vocab_size);
  PAT_CHECK(c.image_size % arch.vision_patch_size == 0, "model.clip.image_size: expected a multiple of the patch size ",
            arch.vision_patch_size, ", got ", c.image_size);
  for (auto tap : c.taps)
    PAT_CHECK(tap < arch.vision_layers - 1, "model.clip.taps: expected block indices below ", arch.vision_layers - 1,
              " (the last block runs in dense mode), got ", tap);
  clip = register_module("clip", clip::ClipModel(arch));
  if (!weights.empty()) clip::load_weights_into(*clip, weights);
  clip::set_finetune_mode(*clip, clip::parse_finetune_mode(c.finetune));

  const int64_t grid = c.image_size / arch.vision_patch_size;
  const auto& h = config_.head;
  GuidanceUpsamplersOptions up;
  up.width = arch.vision_width;
  up.upsample1_dim = h.decoder_guidance_dims[0];
  up.upsample2_dim = h.decoder_guidance_dims[1];
  upsamplers = register_module("upsamplers", GuidanceUpsamplers(up));
  head = register_module("head", CatSegHead(head_options(h, arch.embed_dim, grid)));
  if (config_.pat.enabled) pat = register_module("pat", PyramidPat(pat_options(config_.pat, h, arch.embed_dim)));
}

void SegModelImpl::set_classes(const std::vector<std::string>& class_names) {
  data::validate_class_names(class_names, "classes");
  if (!embedder_) {  // the tokenizer (and its vocabulary file) is needed from the first vocabulary on
    tokenizer_ = make_tokenizer(config_.clip);
    clip::TextEmbedderOptions text;
    text.templates = config_.clip.templates;
    embedder_ = std::make_unique<clip::TextEmbedder>(clip, tokenizer_, text);
  }
  classes_ = class_names;
}

bool SegModelImpl::text_tower_trains() const {
  for (const auto& p : clip->named_parameters(true))
    if (p.value().requires_grad() && p.key().rfind("visual.", 0) != 0) return true;
  return false;
}

torch::Tensor SegModelImpl::text_embeddings() {
  PAT_CHECK(!classes_.empty(), "model: no class names set (set_classes)");
  return is_training() && text_tower_trains() ? embedder_->compute(classes_) : embedder_->cached(classes_);
}

torch::Tensor normalize_model_input(const torch::Tensor& images, int64_t size) {
  auto x = images.to(torch::kFloat32);
  if (x.size(2) != size || x.size(3) != size) {
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{size, size})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  }
  return (x - pixel_stats(kPixelMean, x)) / pixel_stats(kPixelStd, x);
}

torch::Tensor denormalize_model_input(const torch::Tensor& normalized) {
  return normalized * pixel_stats(kPixelStd, normalized) + pixel_stats(kPixelMean, normalized);
}

SegModelOutput SegModelImpl::forward(const torch::Tensor& images, const torch::Tensor& labels, int64_t ignore_label) {
  return run(images, labels, ignore_label, is_training());
}

SegModelOutput SegModelImpl::run(const torch::Tensor& images, const torch::Tensor& labels, int64_t ignore_label,
                                 bool training_outputs) {
  PAT_CHECK(images.dim() == 4 && images.size(1) == 3, "model input: expected images [B, 3, H, W], got ",
            images.sizes());
  auto normalized = normalize_model_input(images, config_.clip.image_size);
  auto features = clip->encode_image_dense(normalized, config_.clip.taps);
  auto [res4, res5] = upsamplers->forward(features.taps[0], features.taps[1]);
  auto text = text_embeddings().to(normalized.device());
  const int64_t batch = normalized.size(0), classes = text.size(0);
  auto text_batched = text.unsqueeze(0).unsqueeze(2).expand({batch, classes, 1, text.size(1)});

  SegModelOutput out;
  CatSegGuidanceResiduals residuals;
  PyramidPatOutput pyramid;
  if (pat) {
    // Decoupled: the aux loss must not reach CLIP's text tower through the class embeddings either.
    torch::Tensor aux_text;
    if (config_.pat.aux_enabled && training_outputs)
      aux_text = (config_.pat.decoupled ? text.detach() : text).unsqueeze(0).expand({batch, classes, text.size(1)});
    pyramid = pat->forward({res5, res4, features.dense}, aux_text, training_outputs);
    if (!pyramid.guidance_residuals.empty()) {
      residuals.appearance = pyramid.guidance_residuals[0];
      residuals.decoder1 = pyramid.guidance_residuals[1];
      residuals.decoder2 = pyramid.guidance_residuals[2];
    }
    out.reconstruction = pyramid.reconstruction;
    out.reconstruction_target = normalized;
    out.aux_logits = pyramid.aux_logits;
    for (const auto& ids : pyramid.tokens.ids)
      if (ids.defined()) out.token_ids.push_back(ids);
    for (const auto& [name, value] : pyramid.tokens.scalars())
      if (name.rfind("l", 0) == 0) out.stats[name] = value;  // per-level perplexity / usage (losses are terms)
  }
  out.logits = head->forward(features.dense, text_batched, res4, res5, residuals);

  if (labels.defined()) {
    PAT_CHECK(labels.dim() == 3 && labels.size(0) == batch, "model labels: expected [B, H, W] with B = ", batch,
              ", got ", labels.sizes());
    out.losses["seg"] = catseg_bce_loss(out.logits, labels, ignore_label);
    if (pat) {
      const auto& p = config_.pat;
      if (out.reconstruction.defined())
        out.losses["rec"] = p.reconstruction_weight * pyramid_reconstruction_loss(out.reconstruction, normalized);
      out.losses["commit"] = p.commitment_weight * pyramid.tokens.commitment_loss;
      if (p.quantizer == "loss") out.losses["codebook"] = p.codebook_weight * pyramid.tokens.codebook_loss;
      if (out.aux_logits.defined())
        out.losses["aux"] = p.aux_weight * pyramid_aux_bce_loss(out.aux_logits, labels, ignore_label);
    }
    out.loss = torch::zeros({}, out.logits.options());
    for (const auto& [name, term] : out.losses) out.loss = out.loss + term;
  }
  return out;
}

torch::Tensor SegModelImpl::logits(const torch::Tensor& images) {
  return run(images, {}, 255, /*training_outputs=*/false).logits;
}

void SegModelImpl::end_step() {
  if (pat) pat->tokenizer()->end_step();
}

std::vector<ParamGroup> SegModelImpl::param_groups() const {
  // Parameters of normalization and embedding modules (and learned tokens/codebooks) get no weight decay.
  std::set<const void*> no_decay;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const auto& module = item.value();
    const std::string leaf = item.key().substr(item.key().rfind('.') + 1);
    const bool norm = module->as<torch::nn::LayerNorm>() || module->as<torch::nn::GroupNorm>() ||
                      module->as<torch::nn::BatchNorm2d>() || module->as<torch::nn::Embedding>() ||
                      leaf.rfind("ln", 0) == 0 || leaf.find("norm") != std::string::npos;
    if (norm)
      for (const auto& p : module->parameters(false)) no_decay.insert(p.unsafeGetTensorImpl());
  }
  const char* no_decay_names[] = {"padding_tokens",  "padding_guidance", "positional_embedding",
                                  "class_embedding", "codebook",         "logit_scale",
                                  "log_scale",       "logit_bias"};
  std::map<std::string, ParamGroup> groups;
  for (const auto& item : named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    const bool is_clip = item.key().rfind("clip.", 0) == 0;
    bool decay = !no_decay.count(item.value().unsafeGetTensorImpl());
    for (const char* n : no_decay_names) decay = decay && item.key().find(n) == std::string::npos;
    const std::string name = std::string(is_clip ? "clip" : "head") + (decay ? "" : "_no_decay");
    auto& group = groups[name];
    group.name = name;
    group.lr_scale = is_clip ? config_.clip_lr_multiplier : 1.0;
    group.weight_decay = decay;
    group.params.push_back(item.value());
  }
  std::vector<ParamGroup> result;
  for (auto& [name, group] : groups) result.push_back(std::move(group));
  return result;
}

std::vector<ParamCount> SegModelImpl::param_counts() const {
  std::vector<ParamCount> counts;
  auto add = [&](const std::string& name, const std::vector<torch::Tensor>& params) {
    counts.push_back({name, count(params, false), count(params, true)});
  };
  add("clip.visual", clip->visual->parameters());
  std::vector<torch::Tensor> text;
  for (const auto& p : clip->named_parameters(true))
    if (p.key().rfind("visual.", 0) != 0) text.push_back(p.value());
  add("clip.text", text);
  add("upsamplers", upsamplers->parameters());
  for (const auto& child : head->named_children()) add("head." + child.key(), child.value()->parameters());
  add("head", head->parameters());
  if (pat) {
    for (const auto& child : pat->named_children()) add("pat." + child.key(), child.value()->parameters());
    add("pat", pat->parameters());
  }
  add("total", parameters());
  return counts;
}

void SegModelImpl::load_clip_weights(const std::string& path) {
  clip::load_weights_into(*clip, clip::load_clip_weights(path));
  clip::set_finetune_mode(*clip, clip::parse_finetune_mode(config_.clip.finetune));
  if (embedder_) embedder_->clear_cache();
}

std::string format_param_counts(const std::vector<ParamCount>& counts) {
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof(line), "%-36s %15s %15s\n", "module", "trainable", "total");
  out << line;
  for (const auto& c : counts) {
    std::snprintf(line, sizeof(line), "%-36s %15lld %15lld\n", c.name.c_str(), static_cast<long long>(c.trainable),
                  static_cast<long long>(c.total));
    out << line;
  }
  return out.str();
}

}  // namespace pat::model
