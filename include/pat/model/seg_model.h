#pragma once
/// \file The segmentation model: CLIP (dense features + block taps + text embeddings), CAT-Seg's guidance
/// upsamplers and head, and — unless `model.pat.enabled` is false — PAT's pyramid tokenization whose
/// semantic branch adds residuals to the head's projected guidances and whose pixel branch reconstructs
/// the image (PAT.md). With PAT off this is exactly the CAT-Seg baseline (CATSEG.md §1).
///
/// Checkpoint names: `clip.*` (OpenAI names, q/k/v split), `upsamplers.upsample1/2.*`, `head.*` (the
/// official `sem_seg_head.predictor.transformer.*`), `pat.*` (see docs/catseg_checkpoint_keys.md).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pat/clip/model.h"
#include "pat/clip/text_embedder.h"
#include "pat/clip/tokenizer.h"
#include "pat/config/config.h"
#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/guidance_upsamplers.h"
#include "pat/model/pat/pyramid_pat.h"

namespace pat::model {

/// Everything one forward produces.
struct SegModelOutput {
  torch::Tensor logits;                  ///< [B, T, H/4, W/4] float32 at the model resolution
  torch::Tensor reconstruction;          ///< [B, 3, h, w] CLIP-normalized image (PAT pixel branch)
  torch::Tensor reconstruction_target;   ///< the normalized input the reconstruction is scored against
  std::vector<torch::Tensor> token_ids;  ///< per pyramid level, finest first: [B, h_l, w_l] int64
  torch::Tensor aux_logits;              ///< [B, T, h, w] (PAT auxiliary head)
  std::map<std::string, torch::Tensor>
      losses;                           ///< weighted terms when labels were given: seg, aux, rec, commit, codebook
  torch::Tensor loss;                   ///< sum of `losses`
  std::map<std::string, double> stats;  ///< codebook statistics: l<k>.perplexity, l<k>.usage
};

/// A set of parameters that share learning-rate scale and weight decay (for the optimizer).
struct ParamGroup {
  std::string name;                   ///< e.g. "clip", "clip_no_decay", "head", "head_no_decay"
  std::vector<torch::Tensor> params;  ///< trainable parameters only
  double lr_scale = 1.0;              ///< multiplier of the base learning rate
  bool weight_decay = true;           ///< false for norms, embeddings, padding tokens, codebooks
};

/// Parameter counts of one module.
struct ParamCount {
  std::string name;
  int64_t total = 0;
  int64_t trainable = 0;
};

/// The model's input: images [B, 3, H, W] (RGB 0-255) resized bilinearly to size x size (align_corners
/// false) and normalised with CLIP's pixel mean / std (CATSEG.md §1.2). [B, 3, size, size] float32.
torch::Tensor normalize_model_input(const torch::Tensor& images, int64_t size);

/// The inverse normalisation (no resize): RGB 0-255 values.
torch::Tensor denormalize_model_input(const torch::Tensor& normalized);

class SegModelImpl : public torch::nn::Module {
 public:
  /// Builds every part from the config. CLIP comes from `config.clip.weights` when set (architecture
  /// inferred from the weights), else from its named architecture or the explicit custom sizes with
  /// random init. The tokenizer (the real BPE from `clip.vocab`, or the byte-level one) is created by the
  /// first `set_classes`, so counting parameters needs no vocabulary file.
  explicit SegModelImpl(const ModelConfig& config);

  /// The vocabulary to score against (CAT-Seg prompt template(s), first synonym of "a, b" names).
  /// Empty or blank names are errors. Text embeddings are cached per vocabulary unless the text tower trains.
  void set_classes(const std::vector<std::string>& class_names);
  const std::vector<std::string>& classes() const { return classes_; }

  /// images: [B, 3, H, W] float32 RGB in 0..255 (resized to model.clip.image_size when H, W differ).
  /// labels: optional [B, H, W] int64 class ids with `ignore_label`; when given, `losses` and `loss` are set.
  /// In eval mode PAT's pixel decoder and aux head are skipped (they only feed training losses):
  /// reconstruction and aux_logits stay undefined and `losses` has no "rec" / "aux" term.
  SegModelOutput forward(const torch::Tensor& images, const torch::Tensor& labels = {}, int64_t ignore_label = 255);

  /// Logits only, for inference: [B, T, H/4, W/4]; never runs PAT's pixel decoder or aux head (in any
  /// mode); eval mode, no grad is the caller's choice.
  torch::Tensor logits(const torch::Tensor& images);

  /// Ends one optimizer step (the trainer calls it after each optimizer.step()): PAT's codebooks count
  /// unused codes per optimizer step and restart dead ones here (quantizer.h). No-op without PAT.
  void end_step();

  /// Groups for the optimizer: CLIP's trainable parameters at lr × clip_lr_multiplier, everything else at
  /// the base lr; no weight decay on norms, embeddings, padding tokens, codebooks.
  std::vector<ParamGroup> param_groups() const;

  /// Per-module parameter counts: clip.visual, clip.text, upsamplers, head, pat.* and a final "total".
  std::vector<ParamCount> param_counts() const;

  /// Reads CLIP weights into `clip` (OpenAI archive or safetensors) and re-applies the fine-tune mode.
  void load_clip_weights(const std::string& path);

  const ModelConfig& config() const { return config_; }
  int64_t image_size() const { return config_.clip.image_size; }

  clip::ClipModel clip{nullptr};
  GuidanceUpsamplers upsamplers{nullptr};
  CatSegHead head{nullptr};
  PyramidPat pat{nullptr};  ///< null when model.pat.enabled is false

 private:
  /// forward's body; training_outputs: run PAT's pixel decoder and aux head.
  SegModelOutput run(const torch::Tensor& images, const torch::Tensor& labels, int64_t ignore_label,
                     bool training_outputs);
  torch::Tensor text_embeddings();
  bool text_tower_trains() const;

  ModelConfig config_;
  std::shared_ptr<const clip::Tokenizer> tokenizer_;
  std::unique_ptr<clip::TextEmbedder> embedder_;
  std::vector<std::string> classes_;
};
TORCH_MODULE(SegModel);

/// Formats `param_counts` as an aligned table (what `pat_train --print-model` prints).
std::string format_param_counts(const std::vector<ParamCount>& counts);

}  // namespace pat::model
