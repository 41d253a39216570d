#pragma once
/// \file `pat_tokenize`'s work: PAT's tokenizer run alone over images, writing per image and pyramid level
/// the token ids, a colour picture of them and the reconstruction beside the input, and over all images
/// a summary (codes used, perplexity, reconstruction error, optionally agreement with ground truth) and
/// codebook atlases.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pat/config/config.h"
#include "pat/engine/eval/token_stats.h"
#include "pat/model/pat/standalone_tokenizer.h"
#include "pat/vis/codebook_atlas.h"

namespace pat::engine {

/// The tokenizer of `config.model` with its weights from `weights` (a run's model_final / checkpoint, or a
/// file holding `clip.visual.*`, `upsamplers.*` and `pat.*`; .pt or .safetensors). Other tensors in the
/// file are ignored; a file without `pat.*` or whose tokenizer tensors do not fit the config is a
/// `pat::Error` naming the file. Returned in eval mode on the CPU.
model::StandaloneTokenizer load_standalone_tokenizer(const ModelConfig& config, const std::string& weights);

struct TokenizeOptions {
  /// Where everything is written (must exist).
  std::string output_dir;
  /// Write atlas_l<l>.png per level (see vis::CodebookAtlas).
  bool atlas = false;
  vis::CodebookAtlasOptions atlas_options;
  /// Ground-truth label maps (<stem>.png/.tif/.tiff/.bmp, the image's size): when set, NMI and purity of
  /// token ids against classes per level (TokenClassStats; token maps are upsampled to the label map by
  /// nearest neighbour; `ignore_label` and negative pixels are skipped).
  std::string labels_dir;
  int64_t ignore_label = 255;
  /// Pictures (colour maps, reconstruction panel) are drawn at the image size, scaled down so that the
  /// longer side is at most this.
  int64_t max_display_side = 1024;
};

/// Tokenizes images one by one, then writes the summary. Per image <stem> and used level l, written
/// atomically and only when the whole image succeeded: <stem>_l<l>.png (token ids, 16-bit) and
/// <stem>_l<l>.npy ([h_l, w_l] int32), <stem>_l<l>_color.png (one colour per code: `vis::class_color`, so
/// the same code has the same colour in every picture), <stem>_reconstruction.png (input | reconstruction
/// at the model input size S x S, as the tokenizer sees it), <stem>.json.
class TokenizationRun {
 public:
  /// `tokenizer` in eval mode (on any device); it must outlive the run.
  TokenizationRun(model::StandaloneTokenizerImpl& tokenizer, TokenizeOptions options);

  /// One image; returns its summary: per level {size, codes_used, perplexity (exp of the entropy of the
  /// code histogram)}, reconstruction {l1 (mean |rec - input| in CLIP-normalized units, the training
  /// loss), psnr (dB, RGB 0..255 at the reconstruction's size)}, and per level {nmi, purity} with labels.
  /// A second image with the same stem is an error (its outputs would overwrite the first's).
  nlohmann::ordered_json tokenize_file(const std::string& image_path);

  /// Writes summary.json (the same measures over all images that succeeded, the per-image summaries) and
  /// with `atlas` atlas_l<l>.png; returns the summary. Needs at least one tokenized image.
  nlohmann::ordered_json finish();

 private:
  struct Level {
    int64_t index = 0;
    torch::Tensor counts;  ///< [K] int64, tokens per code over all images
    std::unique_ptr<TokenClassStats> stats;
    std::unique_ptr<vis::CodebookAtlas> atlas;
  };
  std::string find_label(const std::string& stem) const;

  model::StandaloneTokenizerImpl& tokenizer_;
  TokenizeOptions options_;
  std::vector<Level> levels_;
  std::set<std::string> stems_;
  nlohmann::ordered_json images_ = nlohmann::ordered_json::array();
  double l1_sum_ = 0, psnr_sum_ = 0;
  int64_t reconstructed_ = 0;
};

}  // namespace pat::engine
