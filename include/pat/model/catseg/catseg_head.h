#pragma once
/// \file The CAT-Seg head (official `Aggregator`, CATSEG.md §1.5-1.7): cosine cost volume between dense
/// CLIP image embeddings and class text embeddings, per-class 7x7 embedding, N aggregator layers
/// (guided Swin spatial aggregation + linear-attention class aggregation), and the upsampling decoder
/// with guidance from the tapped CLIP blocks. Class pruning to `pad_len` classes when T > pad_len.
///
/// Parameter names equal the official ones below `sem_seg_head.predictor.transformer.` (see
/// docs/catseg_checkpoint_keys.md).
///
/// PAT extension: optional additive residuals on the three projected guidances (after their ReLU);
/// without them the forward is exactly the baseline.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "pat/model/catseg/aggregator_layer.h"
#include "pat/model/catseg/upsampling_decoder.h"

namespace pat::model {

struct CatSegHeadOptions {
  /// Text embedding width E entering the text guidance (CLIP embedding dim: 512 ViT-B, 768 ViT-L).
  int64_t text_guidance_dim = 512;
  /// Projected text-guidance channels.
  int64_t text_guidance_proj_dim = 128;
  /// Dense image embedding width E entering the appearance guidance.
  int64_t appearance_guidance_dim = 512;
  /// Projected appearance-guidance channels.
  int64_t appearance_guidance_proj_dim = 128;
  /// Output channels of decoder stages 1 and 2.
  std::vector<int64_t> decoder_dims{64, 32};
  /// Channels of the two decoder guidance inputs (the upsampled CLIP taps).
  std::vector<int64_t> decoder_guidance_dims{256, 128};
  /// Projected decoder-guidance channels.
  std::vector<int64_t> decoder_guidance_proj_dims{32, 16};
  /// Aggregator layers.
  int64_t num_layers = 2;
  /// Attention heads (Swin and class attention).
  int64_t num_heads = 4;
  /// Cost-embedding channels.
  int64_t hidden_dim = 128;
  /// Class-aggregation average pooling while training (official POOLING_SIZES).
  int64_t pooling_size = 2;
  /// Class-aggregation pooling in eval mode (eval.sh uses 1).
  int64_t eval_pooling_size = 1;
  /// Grid [h, w] of the dense embeddings (the Swin masks are built for it).
  std::vector<int64_t> feature_resolution{24, 24};
  /// Swin window side; the second block of each layer shifts by half of it.
  int64_t window_size = 12;
  /// Prompt templates P per class (channels of the cost volume).
  int64_t prompt_channel = 1;
  /// Class sequence length: shorter vocabularies are padded with learned tokens, longer ones pruned to
  /// the top pad_len classes per image. 0 disables both.
  int64_t pad_len = 256;
};

/// Optional additive residuals on the projected guidances (PAT's semantic branch). Undefined = none.
struct CatSegGuidanceResiduals {
  torch::Tensor appearance;  ///< [B, appearance_guidance_proj_dim, h, w], added after the ReLU
  torch::Tensor decoder1;    ///< [B, decoder_guidance_proj_dims[0], 2h, 2w], added after the ReLU
  torch::Tensor decoder2;    ///< [B, decoder_guidance_proj_dims[1], 4h, 4w], added after the ReLU
};

/// Everything one head forward produces.
struct CatSegHeadOutput {
  torch::Tensor logits;                         ///< [B, T, 4h, 4w] float32 (-100 for pruned classes)
  torch::Tensor appearance_guidance;            ///< [B, Ca, h, w] projected (+ residual)
  std::vector<torch::Tensor> decoder_guidance;  ///< {[B, Cd0, 2h, 2w], [B, Cd1, 4h, 4w]} projected (+ residual)
  torch::Tensor text_guidance;                  ///< [B, T', Ct] projected; T' = pad_len when pruned, else T
  torch::Tensor selected_classes;               ///< [B, pad_len] int64 when pruned (T > pad_len), else undefined
};

/// Children (official names): conv1, guidance_projection (0 Conv3x3, 1 ReLU), text_guidance_projection
/// (0 Linear, 1 ReLU), decoder_guidance_projection.{0,1} (0 Conv3x3, 1 ReLU), layers.N, decoder1,
/// decoder2, head.
class CatSegHeadImpl : public torch::nn::Module {
 public:
  explicit CatSegHeadImpl(const CatSegHeadOptions& options);

  /// image_embeddings: [B, E, h, w] dense CLIP embeddings (unnormalized; official res3);
  /// text_embeddings: [B, T, P, E] class text embeddings (official `text`, any norm);
  /// decoder_guidance1: [B, decoder_guidance_dims[0], 2h, 2w] (upsample1 output, official res4);
  /// decoder_guidance2: [B, decoder_guidance_dims[1], 4h, 4w] (upsample2 output, official res5).
  /// Returns the logits [B, T, 4h, 4w] float32.
  torch::Tensor forward(const torch::Tensor& image_embeddings, const torch::Tensor& text_embeddings,
                        const torch::Tensor& decoder_guidance1, const torch::Tensor& decoder_guidance2,
                        const CatSegGuidanceResiduals& residuals = {});

  /// Same as forward, returning the projected guidances and the selected classes as well.
  CatSegHeadOutput forward_detailed(const torch::Tensor& image_embeddings, const torch::Tensor& text_embeddings,
                                    const torch::Tensor& decoder_guidance1, const torch::Tensor& decoder_guidance2,
                                    const CatSegGuidanceResiduals& residuals = {});

  CatSegHeadOptions options;
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::Sequential guidance_projection{nullptr};
  torch::nn::Sequential text_guidance_projection{nullptr};
  torch::nn::ModuleList decoder_guidance_projection{nullptr};
  DecoderStage decoder1{nullptr}, decoder2{nullptr};
  torch::nn::Conv2d head{nullptr};
};
TORCH_MODULE(CatSegHead);

}  // namespace pat::model
