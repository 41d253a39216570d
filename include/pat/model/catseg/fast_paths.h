#pragma once
/// \file Process-wide switches of the CAT-Seg head's fast paths (docs/performance.md). Every fast path
/// computes the same function as the straightforward code (the golden tests run with the defaults);
/// the switches exist so that one binary can measure each optimisation against its absence
/// (`bench_model --off NAME`) and so that tests can compare both paths.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace pat::model {

struct CatSegFastPaths {
  /// Keep the cost embedding in one tokens-last layout [B, T, H, W, C] through all aggregator layers
  /// (the Swin rows [B*T, H*W, C] and the decoder's channels-last maps are views of it) instead of
  /// permuting [B, C, T, H, W] into and out of every spatial and class aggregation.
  bool tokens_last = true;
  /// Project each guidance once where it is constant (appearance: once per image instead of once per
  /// class; text: once per class instead of once per pixel; decoder: its convolution once per image)
  /// and add it to the projection of the features, instead of concatenating the repeated guidance to
  /// every token. Also fuses the q/k/v projections that read the same tokens into one matrix product.
  bool factored_guidance = true;
  /// Window attention: scale folded into the query projection, products, mask and softmax fused per window
  /// (catseg_fused_window_attention, LibTorch 1.x); scaled_dot_product_attention (LibTorch 2.x). The per-matrix
  /// products of window and linear attention one per task (catseg_bmm).
  bool fused_attention = true;
  /// Per-class convolutions (conv1, decoder, head) in channels-last memory (oneDNN when LibTorch has it).
  bool channels_last = true;
  /// Without gradients, transposed convolutions whose kernel equals their stride (decoder and guidance
  /// upsamplers) as one matrix product over all pixels (patch_upsample.h) instead of LibTorch's per-image kernel.
  bool gemm_upsampling = true;
  /// With fused_attention, the per-matrix products of window and linear attention up to 4M multiply-adds by
  /// small_gemm (AVX2 where the CPU has it) instead of the BLAS (small_gemm.h).
  bool small_gemm = true;
  /// Without gradients, the head's linear layers (catseg_linear) as single-threaded BLAS products, each intra-op
  /// thread over its share of the rows in L2-sized blocks, instead of the BLAS's own threads: OpenBLAS's threading
  /// reaches 70-80% of that on [rows, 128] x [128, 384] and the like (an inner dimension of 128 or 512).
  bool split_linear = true;
  /// Without gradients, the head's 3x3 convolution to one output channel (catseg_head_conv) as one matrix product
  /// and a sum over neighbours instead of oneDNN's kernel, which runs such a convolution at about 8 GFLOP/s (97 ms
  /// of a forward for 0.8 GFLOP).
  bool head_conv = true;
  /// With fused_attention, while gradients are recorded: catseg_bmm's products as an autograd function whose forward
  /// and backward products (dA = dC B^T, dB = A^T dC) run one per matrix spread over the intra-op threads, instead
  /// of torch::matmul, whose CPU bmm (LibTorch 1.x without MKL) calls the BLAS once per small matrix in sequence,
  /// forward and backward, with a select per operand.
  bool loop_gradients = true;
  /// Without gradients, run the per-class stages (Swin rows, class-attention pixels, decoder rows) in
  /// chunks whose intermediates stay under about this many bytes, writing results in place. 0 disables
  /// chunking. Results do not depend on the chunk size.
  int64_t chunk_bytes = int64_t{96} << 20;
  /// The same on CUDA devices: their memory is large and each chunk costs a round of kernel launches, so
  /// chunks are much larger there (a GPU with less free memory than this can lower it).
  int64_t cuda_chunk_bytes = int64_t{2} << 30;
};

/// The switches in effect (mutable; not synchronized: set them before running models).
CatSegFastPaths& catseg_fast_paths();

/// How many of `total` independent items (rows, pixels) to process at once on `device` when each needs
/// about `bytes_per_item` of intermediates: `total` while gradients are recorded or chunking is off, else
/// max(1, budget / bytes_per_item) capped at `total`, the budget being chunk_bytes (cuda_chunk_bytes on CUDA).
int64_t catseg_chunk_items(int64_t total, int64_t bytes_per_item, torch::Device device = torch::kCPU);

/// Batched matrix product a [..., m, k] x b [..., k, n] -> [..., m, n] (same batch dims, at most two).
/// With fused_attention on and on the CPU, the many small products of window and
/// class attention run as one single-threaded product per matrix spread over the intra-op threads
/// (LibTorch 1.x's CPU bmm calls the BLAS once per matrix in sequence, each call paying a threaded
/// dispatch); while gradients are recorded only with loop_gradients on and no `out` (an autograd function whose
/// backward products run the same way); otherwise torch::matmul. `out`, when given, receives the result and is
/// returned: [..., m, n] with contiguous rows (e.g. a permuted view of the layout the caller needs next, which saves a
/// copy).
torch::Tensor catseg_bmm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor out = {});

/// F::linear(x, weight, bias) of the head's layers; with `into` (contiguous, x's rows by weight's rows), the residual
/// form into += F::linear(x, weight, bias), returning into. With split_linear on, on the CPU without gradients and with
/// the process's sgemm: the rows of x split over the intra-op threads, one single-threaded sgemm per block of a
/// thread's rows (256 KiB of output) onto rows that start as the bias (plus into's rows). Otherwise F::linear (and an
/// add).
torch::Tensor catseg_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {},
                            const torch::Tensor& into = {});

/// The head's convolution: 3x3, padding 1, one output channel (weight [1, C, 3, 3], bias [1] or undefined) of x
/// [N, C, H, W] -> [N, 1, H, W]. With head_conv on, on the CPU, float, without gradients: the 9 taps' dot products
/// of every pixel as one catseg_linear [N*H*W, C] x [C, 9] (x read channels-last: a view of channels-last input), then
/// each output the sum of its 3x3 neighbours' taps (zero outside), rows split over the intra-op threads. Otherwise
/// F::conv2d.
torch::Tensor catseg_head_conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

/// softmax(q k^T + mask) v of window attention: q, k, v [B_, heads, N, d] float (q already scaled; rows of d
/// contiguous, or columns), mask [nW, N, N] or undefined (window b adds mask b % nW), into `out` [B_, heads, N, d]
/// with contiguous rows (e.g. a permuted view of [B_, N, heads, d]). With fused_attention on, on the CPU, without
/// gradients and with small_gemm or the process's sgemm: one task per window over the intra-op threads, its scores in a
/// per-thread [heads * N, N] buffer that stays in cache from the first product through the mask and the softmax to
/// the second product, the same products and softmax as unfused. Returns false, doing nothing, where it does not
/// apply (the caller then computes the attention itself).
bool catseg_fused_window_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const torch::Tensor& mask, const torch::Tensor& out);

/// Names accepted by `set_catseg_fast_path`: tokens_last, factored_guidance, fused_attention,
/// channels_last, gemm_upsampling, small_gemm, split_linear, head_conv, loop_gradients, chunking.
std::vector<std::string> catseg_fast_path_names();

/// Turns one fast path on or off by name ("chunking" off sets chunk_bytes to 0, on restores the default).
/// Unknown names are a pat::Error listing the valid ones.
void set_catseg_fast_path(const std::string& name, bool enabled);

/// Restores the defaults on destruction (for tests and A/B measurements).
class ScopedCatSegFastPaths {
 public:
  explicit ScopedCatSegFastPaths(const CatSegFastPaths& paths) : saved_(catseg_fast_paths()) {
    catseg_fast_paths() = paths;
  }
  ~ScopedCatSegFastPaths() { catseg_fast_paths() = saved_; }
  ScopedCatSegFastPaths(const ScopedCatSegFastPaths&) = delete;
  ScopedCatSegFastPaths& operator=(const ScopedCatSegFastPaths&) = delete;

 private:
  CatSegFastPaths saved_;
};

}  // namespace pat::model
