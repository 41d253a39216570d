#pragma once
/// \file The model-independent part of CAT-Seg inference (CATSEG.md §2): the sliding-window protocol
/// (warp to 640², four 384² tiles at stride 256 plus a global view, one batch, sigmoid, overlap-
/// normalized fold, mean with the global view, resize to the original size, argmax) and the
/// whole-image protocol of the training-time eval. The model is a callable from views to logits.
///
/// Memory: the classes are post-processed in chunks (`class_chunk`) with a running max/argmax, so the
/// [5, T, 384, 384] probability tensor never exists for large T. Chunked and unchunked results are
/// bitwise identical: every per-class operation sees the same operands whatever the chunk size.
/// The model is always called exactly once per image.

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

namespace pat::engine {

/// The model as the protocol sees it: `views` [N, 3, K, K] float32 RGB in 0..255 (NOT normalized;
/// the callable applies CLIP mean/std) -> logits [N, T, h, w] floating (CAT-Seg: h = w = 96), on any
/// device. Post-processing runs on the logits' device.
using LogitsFn = std::function<torch::Tensor(const torch::Tensor& views)>;

/// Sliding-window protocol settings (defaults: the official eval.sh values).
struct SlidingWindowOptions {
  /// Tile side K in pixels (views are K×K).
  int64_t kernel = 384;
  /// Tile overlap fraction; the stride is int(kernel * (1 - overlap)) = 256 by default.
  double overlap = 0.333;
  /// The image is warped (aspect ratio ignored) to out_res × out_res before tiling.
  int64_t out_res = 640;
  /// Classes post-processed at once; 0 = automatic from `memory_budget_mb`.
  int64_t class_chunk = 0;
  /// Automatic chunking starts when the [V, T, K, K] float32 probabilities would exceed this (chunks
  /// change no bit of the result; 128 MiB keeps a 847-class ViT-B/16 evaluation under 2 GB peak RSS).
  int64_t memory_budget_mb = 128;
  /// Skip the views' class planes whose logits all vanish (CAT-Seg's pruned classes, -100): their
  /// probabilities are exact zeros, so the result is the same and the post-processing follows the
  /// classes each view kept instead of the vocabulary. Off: every plane is evaluated (benchmarks).
  bool skip_vanishing = true;
};

/// Whole-image protocol settings (the non-sliding path of the training-time COCO eval).
struct WholeImageOptions {
  /// The (padded) image is resized to size × size.
  int64_t size = 384;
  /// The image is first padded (bottom/right) to a multiple of this (0 or 1: no padding).
  int64_t size_divisibility = 32;
  /// RGB fill of the padding in 0..255 space; the CLIP mean, i.e. 0 after normalization as in the
  /// official code, which pads the normalized image with zeros.
  std::vector<double> pad_value = {122.7709383, 116.7460125, 104.09373615};
  /// Classes post-processed at once; 0 = automatic from `memory_budget_mb`.
  int64_t class_chunk = 0;
  /// Automatic chunking starts when the [T, H, W] float32 output probabilities would exceed this.
  int64_t memory_budget_mb = 1024;
};

/// One image's prediction.
struct SegPrediction {
  torch::Tensor labels;    ///< [H, W] int64, argmax over classes (first index on ties)
  torch::Tensor max_prob;  ///< [H, W] float32, the probability of that class (for thresholds)
};

/// Top-left corner of one K×K tile in the out_res² frame.
struct TileOrigin {
  int64_t y = 0;
  int64_t x = 0;
};

/// int(kernel * (1 - overlap)); checks the options.
int64_t sliding_window_stride(const SlidingWindowOptions& options);

/// Tile origins in row-major order (as nn.Unfold orders them). With the defaults: (0,0), (0,256),
/// (256,0), (256,256). If the stride does not land the last tile on the border (nn.Unfold would leave
/// pixels uncovered), one more tile is placed flush with the border.
std::vector<TileOrigin> sliding_window_tiles(const SlidingWindowOptions& options);

/// [out_res, out_res] float32: how many tiles cover each pixel (1/2/4 with the defaults).
torch::Tensor sliding_window_overlap_count(const SlidingWindowOptions& options,
                                           const torch::TensorOptions& tensor_options = {});

/// The views of one image: `image` [3, H, W] RGB 0..255 (any real dtype, any device) -> [V, 3, K, K]
/// float32, V = tiles + 1: the tiles of the out_res² warp in row-major order, then the global view
/// (the original image resized to K×K). Bilinear, align_corners=false, no antialiasing.
torch::Tensor sliding_window_views(const torch::Tensor& image, const SlidingWindowOptions& options = {});

/// Folds per-view probabilities back: `probs` [V, C, K, K] float -> [C, out_res, out_res]:
/// (sum of covering tiles / overlap count + global view resized to out_res) / 2.
torch::Tensor sliding_window_fold(const torch::Tensor& probs, const SlidingWindowOptions& options = {});

/// The full sliding-window protocol for one image. `image` [3, H, W] RGB 0..255. `output_size`
/// {height, width} of the result (empty: the image's own size; detectron2 passes the original size
/// when `image` is the short-side-640 resize). The model is called once with all views as one batch.
SegPrediction predict_sliding_window(const torch::Tensor& image, const LogitsFn& logits_fn,
                                     const SlidingWindowOptions& options = {}, torch::IntArrayRef output_size = {});

/// Like predict_sliding_window but returns all probabilities [T, H, W] float32 (small T only: no
/// chunking, memory grows with T).
torch::Tensor sliding_window_probabilities(const torch::Tensor& image, const LogitsFn& logits_fn,
                                           const SlidingWindowOptions& options = {},
                                           torch::IntArrayRef output_size = {});

/// The whole-image protocol: pad to `size_divisibility`, resize to size², one view -> logits
/// [1, T, h, w], sigmoid, crop [:H, :W] of the low-resolution output (the official quirk: a no-op
/// unless the image is smaller than the logits), bilinear resize to `output_size`, argmax.
SegPrediction predict_whole_image(const torch::Tensor& image, const LogitsFn& logits_fn,
                                  const WholeImageOptions& options = {}, torch::IntArrayRef output_size = {});

/// The class chunk a post-processing pass uses: `class_chunk` when > 0 (capped at T), else T when
/// `full_bytes` fits in `memory_budget_mb`, else max(1, budget / bytes_per_class).
int64_t resolve_class_chunk(int64_t num_classes, int64_t class_chunk, int64_t memory_budget_mb, int64_t full_bytes,
                            int64_t bytes_per_class);

}  // namespace pat::engine
