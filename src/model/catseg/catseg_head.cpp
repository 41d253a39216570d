#include "pat/model/catseg/catseg_head.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/catseg/class_pruning.h"
#include "pat/model/catseg/cost_volume.h"
#include "pat/model/catseg/fast_paths.h"

namespace pat::model {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::Sequential conv3x3_relu(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)), nn::ReLU());
}

void check_residual(const torch::Tensor& residual, const torch::Tensor& guidance, const char* name) {
  if (!residual.defined()) return;
  PAT_CHECK(residual.sizes() == guidance.sizes(), "CatSegHead: expected the ", name, " residual to be ",
            guidance.sizes(), ", got ", residual.sizes());
}

}  // namespace

CatSegHeadImpl::CatSegHeadImpl(const CatSegHeadOptions& options_) : options(options_) {
  const auto& o = options;
  PAT_CHECK(
      o.decoder_dims.size() == 2 && o.decoder_guidance_dims.size() == 2 && o.decoder_guidance_proj_dims.size() == 2,
      "CatSegHead: expected two decoder_dims, decoder_guidance_dims and decoder_guidance_proj_dims, got ",
      o.decoder_dims.size(), ", ", o.decoder_guidance_dims.size(), ", ", o.decoder_guidance_proj_dims.size());
  PAT_CHECK(o.text_guidance_dim > 0 && o.text_guidance_proj_dim > 0 && o.appearance_guidance_dim > 0 &&
                o.appearance_guidance_proj_dim > 0 && o.decoder_guidance_dims[0] > 0 && o.decoder_guidance_dims[1] > 0,
            "CatSegHead: expected positive guidance dims");
  PAT_CHECK(o.num_layers >= 0 && o.hidden_dim > 0 && o.prompt_channel > 0,
            "CatSegHead: expected num_layers >= 0, hidden_dim > 0 and prompt_channel > 0, got ", o.num_layers, ", ",
            o.hidden_dim, ", ", o.prompt_channel);
  PAT_CHECK(o.feature_resolution.size() == 2, "CatSegHead: expected feature_resolution [h, w], got ",
            o.feature_resolution.size(), " values");

  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i)
    layers->push_back(AggregatorLayer(
        AggregatorLayerOptions{o.hidden_dim, o.appearance_guidance_proj_dim, o.text_guidance_proj_dim, o.num_heads,
                               o.feature_resolution, o.window_size, o.pooling_size, o.eval_pooling_size, o.pad_len}));
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(o.prompt_channel, o.hidden_dim, 7).padding(3)));
  guidance_projection =
      register_module("guidance_projection", conv3x3_relu(o.appearance_guidance_dim, o.appearance_guidance_proj_dim));
  text_guidance_projection =
      register_module("text_guidance_projection",
                      nn::Sequential(nn::Linear(o.text_guidance_dim, o.text_guidance_proj_dim), nn::ReLU()));
  decoder_guidance_projection = register_module("decoder_guidance_projection", nn::ModuleList());
  for (int i = 0; i < 2; ++i)
    decoder_guidance_projection->push_back(conv3x3_relu(o.decoder_guidance_dims[i], o.decoder_guidance_proj_dims[i]));
  decoder1 = register_module(
      "decoder1", DecoderStage(DecoderStageOptions{o.hidden_dim, o.decoder_dims[0], o.decoder_guidance_proj_dims[0]}));
  decoder2 = register_module("decoder2", DecoderStage(DecoderStageOptions{o.decoder_dims[0], o.decoder_dims[1],
                                                                          o.decoder_guidance_proj_dims[1]}));
  head = register_module("head", nn::Conv2d(nn::Conv2dOptions(o.decoder_dims[1], 1, 3).padding(1)));
}

torch::Tensor CatSegHeadImpl::forward(const torch::Tensor& image_embeddings, const torch::Tensor& text_embeddings,
                                      const torch::Tensor& decoder_guidance1, const torch::Tensor& decoder_guidance2,
                                      const CatSegGuidanceResiduals& residuals) {
  return forward_detailed(image_embeddings, text_embeddings, decoder_guidance1, decoder_guidance2, residuals).logits;
}

CatSegHeadOutput CatSegHeadImpl::forward_detailed(const torch::Tensor& image_embeddings,
                                                  const torch::Tensor& text_embeddings,
                                                  const torch::Tensor& decoder_guidance1,
                                                  const torch::Tensor& decoder_guidance2,
                                                  const CatSegGuidanceResiduals& residuals) {
  const auto& o = options;
  const int64_t h = o.feature_resolution[0], w = o.feature_resolution[1], e = o.appearance_guidance_dim;
  PAT_CHECK(image_embeddings.dim() == 4 && image_embeddings.size(1) == e && image_embeddings.size(2) == h &&
                image_embeddings.size(3) == w,
            "CatSegHead: expected image embeddings [B, ", e, ", ", h, ", ", w, "], got ", image_embeddings.sizes());
  const int64_t b = image_embeddings.size(0);
  PAT_CHECK(text_embeddings.dim() == 4 && text_embeddings.size(0) == b && text_embeddings.size(1) > 0 &&
                text_embeddings.size(2) == o.prompt_channel && text_embeddings.size(3) == o.text_guidance_dim &&
                o.text_guidance_dim == e,
            "CatSegHead: expected text embeddings [", b, ", T, ", o.prompt_channel, ", ", o.text_guidance_dim,
            "] (text_guidance_dim equal to the image embedding width ", e, "), got ", text_embeddings.sizes());
  PAT_CHECK(decoder_guidance1.dim() == 4 && decoder_guidance1.size(0) == b &&
                decoder_guidance1.size(1) == o.decoder_guidance_dims[0] && decoder_guidance1.size(2) == 2 * h &&
                decoder_guidance1.size(3) == 2 * w,
            "CatSegHead: expected decoder guidance 1 [", b, ", ", o.decoder_guidance_dims[0], ", ", 2 * h, ", ", 2 * w,
            "], got ", decoder_guidance1.sizes());
  PAT_CHECK(decoder_guidance2.dim() == 4 && decoder_guidance2.size(0) == b &&
                decoder_guidance2.size(1) == o.decoder_guidance_dims[1] && decoder_guidance2.size(2) == 4 * h &&
                decoder_guidance2.size(3) == 4 * w,
            "CatSegHead: expected decoder guidance 2 [", b, ", ", o.decoder_guidance_dims[1], ", ", 4 * h, ", ", 4 * w,
            "], got ", decoder_guidance2.sizes());
  const int64_t num_classes = text_embeddings.size(1);

  const auto& fast = catseg_fast_paths();
  const auto memory_format = fast.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  const bool grad = torch::GradMode::is_enabled();

  CatSegHeadOutput out;
  // Cost volume [B, P, T, h, w]; prune to the best pad_len classes per image when T > pad_len.
  torch::Tensor corr, text = text_embeddings;
  {
    PAT_PROFILE_SCOPE("catseg.cost_volume");
    corr = cosine_cost_volume(image_embeddings, text_embeddings);
    if (o.pad_len > 0 && num_classes > o.pad_len) {
      out.selected_classes = select_top_classes(corr, o.pad_len);
      corr = gather_classes(corr.transpose(1, 2), out.selected_classes).transpose(1, 2);
      text = gather_classes(F::normalize(text_embeddings, F::NormalizeFuncOptions().dim(-1)), out.selected_classes);
    }
  }
  const int64_t t = corr.size(2), p = corr.size(1), c = o.hidden_dim;

  // Per-class 7x7 embedding, tokens-last: [B, T, h, w, C].
  torch::Tensor x;
  {
    PAT_PROFILE_SCOPE("catseg.embed");
    auto planes = corr.transpose(1, 2).reshape({b * t, p, h, w});
    auto embed = [&](const torch::Tensor& rows) {
      if (!fast.channels_last) return conv1(rows);
      return F::conv2d(rows.contiguous(memory_format), conv1->weight.contiguous(memory_format),
                       F::Conv2dFuncOptions().bias(conv1->bias).padding(3));
    };
    // Without gradients in chunks of classes written into x: the convolution's output and oneDNN's reordered
    // copy of it exist for one chunk at a time instead of for every (image, class) map.
    const int64_t chunk = catseg_chunk_items(b * t, 2 * 4 * c * h * w, planes.device());
    if (chunk >= b * t) {
      x = embed(planes).permute({0, 2, 3, 1}).contiguous().view({b, t, h, w, c});
    } else {
      x = torch::empty({b, t, h, w, c}, planes.options());
      auto rows_out = x.view({b * t, h, w, c});
      for (int64_t r0 = 0; r0 < b * t; r0 += chunk) {
        const int64_t len = std::min(chunk, b * t - r0);
        rows_out.narrow(0, r0, len).copy_(embed(planes.narrow(0, r0, len)).permute({0, 2, 3, 1}));
      }
    }

    // Guidances.
    out.appearance_guidance = guidance_projection->forward(image_embeddings);
    check_residual(residuals.appearance, out.appearance_guidance, "appearance");
    if (residuals.appearance.defined()) out.appearance_guidance = out.appearance_guidance + residuals.appearance;
    const torch::Tensor* decoder_inputs[2] = {&decoder_guidance1, &decoder_guidance2};
    const torch::Tensor* decoder_residuals[2] = {&residuals.decoder1, &residuals.decoder2};
    for (int i = 0; i < 2; ++i) {
      auto g = decoder_guidance_projection[i]->as<nn::Sequential>()->forward(*decoder_inputs[i]);
      check_residual(*decoder_residuals[i], g, i == 0 ? "decoder1" : "decoder2");
      if (decoder_residuals[i]->defined()) g = g + *decoder_residuals[i];
      out.decoder_guidance.push_back(g);
    }
    auto text_mean = text.mean(2);
    out.text_guidance = text_guidance_projection->forward(text_mean / text_mean.norm(2, -1, /*keepdim=*/true));
  }

  // Aggregator layers; the decoder reads every class map as [B*T, C, h, w].
  torch::Tensor maps;
  if (fast.tokens_last) {
    for (const auto& layer : *layers)
      x = layer->as<AggregatorLayer>()->forward_tokens(x, out.appearance_guidance, out.text_guidance,
                                                       /*in_place=*/!grad);
    maps = x.view({b * t, h, w, c}).permute({0, 3, 1, 2});
  } else {
    auto xb = x.permute({0, 4, 1, 2, 3});  // [B, C, T, h, w]
    for (const auto& layer : *layers)
      xb = layer->as<AggregatorLayer>()->forward(xb, out.appearance_guidance, out.text_guidance);
    maps = xb.permute({0, 2, 1, 3, 4}).reshape({b * t, c, h, w});
  }
  x = torch::Tensor();
  maps = maps.contiguous(memory_format);

  // Upsampling decoder on every class map: [B*T, C, h, w] -> [B, T, 4h, 4w], in chunks of classes
  // without gradients.
  PAT_PROFILE_SCOPE("catseg.decoder");
  auto decode = [&](const torch::Tensor& rows, int64_t image, int64_t count) {
    auto g1 = out.decoder_guidance[0], g2 = out.decoder_guidance[1];
    if (count < b) {
      g1 = g1.narrow(0, image, count);
      g2 = g2.narrow(0, image, count);
    }
    auto y = decoder2(decoder1(rows, g1), g2);
    return catseg_head_conv(y, head->weight, head->bias);  // [rows, 1, 4h, 4w]
  };
  const int64_t d0 = o.decoder_dims[0], d1 = o.decoder_dims[1];
  const int64_t row_bytes = 4 * (4 * h * w * (c + 5 * d0) + 16 * h * w * (d0 + 5 * d1 + 1));
  const int64_t chunk = catseg_chunk_items(b * t, row_bytes, maps.device());
  torch::Tensor logits;
  if (chunk >= b * t) {
    logits = decode(maps, 0, b).view({b, t, 4 * h, 4 * w});
  } else {
    logits = torch::empty({b, t, 4 * h, 4 * w}, maps.options().memory_format(at::MemoryFormat::Contiguous));
    auto rows_out = logits.view({b * t, 4 * h, 4 * w});
    for (int64_t image = 0; image < b; ++image)
      for (int64_t t0 = 0; t0 < t; t0 += chunk) {
        const int64_t r0 = image * t + t0, len = std::min(chunk, t - t0);
        rows_out.narrow(0, r0, len).copy_(decode(maps.narrow(0, r0, len), image, 1).view({len, 4 * h, 4 * w}));
      }
  }
  maps = torch::Tensor();  // the aggregated embedding, before the full-vocabulary logits are allocated
  out.logits = out.selected_classes.defined() ? scatter_classes(logits, out.selected_classes, num_classes) : logits;
  return out;
}

}  // namespace pat::model
