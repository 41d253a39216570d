#include "pat/model/catseg/fast_paths.h"

#include <dlfcn.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/catseg/small_gemm.h"

namespace pat::model {

CatSegFastPaths& catseg_fast_paths() {
  static CatSegFastPaths paths;
  return paths;
}

int64_t catseg_chunk_items(int64_t total, int64_t bytes_per_item, torch::Device device) {
  const auto& paths = catseg_fast_paths();
  const int64_t budget = paths.chunk_bytes <= 0 ? 0 : device.is_cuda() ? paths.cuda_chunk_bytes : paths.chunk_bytes;
  if (total <= 1 || budget <= 0 || torch::GradMode::is_enabled()) return std::max<int64_t>(total, 1);
  return std::clamp<int64_t>(budget / std::max<int64_t>(bytes_per_item, 1), 1, total);
}

namespace {

/// The Fortran BLAS sgemm LibTorch itself calls (Debian: the system BLAS, e.g. OpenBLAS), looked up at run time:
/// calling it per matrix skips ATen's per-call dispatch and checks, which cost as much as a 144x32x144 product.
/// Null where the process exports none (LibTorch builds that link MKL statically): then at::mm.
using Sgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);
Sgemm process_sgemm() {
  static const Sgemm fn = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}

/// How a row-major [rows, cols] matrix is read as a column-major BLAS operand: 'N' with leading dimension
/// row_stride when rows are contiguous, 'T' with col_stride when columns are; '\0' otherwise.
struct BlasOperand {
  char op = '\0';
  int64_t ld = 0;
};
BlasOperand blas_operand(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (col_stride == 1 && row_stride >= std::max<int64_t>(cols, 1)) return {'N', row_stride};
  if (row_stride == 1 && col_stride >= std::max<int64_t>(rows, 1)) return {'T', col_stride};
  return {};
}
BlasOperand blas_operand(const torch::Tensor& t) {
  return blas_operand(t.size(-2), t.size(-1), t.stride(-2), t.stride(-1));
}

bool fits_int(std::initializer_list<int64_t> values) {
  return std::max(values) <= std::numeric_limits<int>::max();
}

/// Products of at most this many multiply-adds go to small_gemm (measured on AVX2: 1.3-1.8x the BLAS's rate at
/// 144x144x32 and 256x32x32; at 577x577x64 the BLAS is faster).
constexpr int64_t kSmallGemmMacs = int64_t{4} << 20;

/// What computes the per-matrix products of an [m, k] x [k, n] batch, one product per task.
enum class Kernel { kNone, kSmall, kBlas };
Kernel product_kernel(int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return Kernel::kNone;
  if (catseg_fast_paths().small_gemm && small_gemm_available() && m * n * k <= kSmallGemmMacs) return Kernel::kSmall;
  return process_sgemm() ? Kernel::kBlas : Kernel::kNone;
}

/// Where the matrix at flat batch index i of a 3-d or 4-d tensor starts (inner = size(1) for 4-d).
int64_t batch_offset(const torch::Tensor& t, int64_t i, int64_t inner) {
  return t.dim() == 4 ? (i / inner) * t.stride(0) + (i % inner) * t.stride(1) : i * t.stride(0);
}
MatrixView matrix_at(const torch::Tensor& t, int64_t i, int64_t inner) {
  return {t.data_ptr<float>() + batch_offset(t, i, inner), t.stride(-2), t.stride(-1)};
}

/// Rows per task at least, when a linear layer's rows are split over the intra-op threads.
constexpr int64_t kSplitLinearRows = 64;
/// Output floats per block of a split linear layer's rows (256 KiB: a quarter of a core's L2 here).
constexpr int64_t kLinearBlockFloats = int64_t{64} << 10;

/// Row-major C[m, n] = A[m, k] B[k, n] (+ beta C) on the calling thread. kBlas needs operands blas_operand accepts,
/// with every size and stride within int; kSmall a scratch of small_gemm_pack_floats(k, n) floats.
void multiply(Kernel kernel, int64_t m, int64_t n, int64_t k, const MatrixView& a, const MatrixView& b, float* c,
              int64_t ldc, float* pack, float beta = 0.0f) {
  if (kernel == Kernel::kSmall) return small_gemm(m, n, k, a, b, c, ldc, pack);
  // Column-major C^T = B^T A^T: the BLAS gets b first.
  const BlasOperand oa = blas_operand(m, k, a.row_stride, a.col_stride);
  const BlasOperand ob = blas_operand(k, n, b.row_stride, b.col_stride);
  const float one = 1.0f;
  const int im = int(m), in = int(n), ik = int(k), lda = int(oa.ld), ldb = int(ob.ld), ic = int(ldc);
  process_sgemm()(&ob.op, &oa.op, &in, &im, &ik, &one, b.data, &ldb, a.data, &lda, &beta, c, &ic);
}

}  // namespace

namespace {

/// Whether a, b ([..., m, k], [..., k, n], the same one or two batch dims) can go through loop_bmm.
bool loop_applies(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t dims = a.dim();
  return a.device().is_cpu() && b.device().is_cpu() && (dims == 3 || dims == 4) && b.dim() == dims &&
         a.scalar_type() == b.scalar_type() && a.sizes().slice(0, dims - 2) == b.sizes().slice(0, dims - 2) &&
         a.size(-1) == b.size(-2);
}

/// The batched product as one product per matrix spread over the intra-op threads (loop_applies(a, b); `out`
/// undefined or as catseg_bmm takes it). Records no gradient.
torch::Tensor loop_bmm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor out) {
  const int64_t dims = a.dim();
  if (!out.defined()) {
    std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
    shape.back() = b.size(-1);
    out = torch::empty(shape, a.options());
  }
  RECORD_FUNCTION("pat::catseg_bmm", std::vector<c10::IValue>({a, b}));  // profilers see one product (FLOPs)
  const int64_t inner = dims == 4 ? a.size(1) : 1;
  const int64_t total = dims == 4 ? a.size(0) * inner : a.size(0);
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Kernel kernel = a.scalar_type() == torch::kFloat ? product_kernel(m, n, k) : Kernel::kNone;
  torch::Tensor ac = a, bc = b;
  if (kernel == Kernel::kBlas) {
    if (!blas_operand(a).op) ac = a.contiguous();  // rows of k contiguous floats
    if (!blas_operand(b).op) bc = b.contiguous();
    if (!fits_int({m, n, k, blas_operand(ac).ld, blas_operand(bc).ld, out.stride(-2)})) kernel = Kernel::kNone;
  }
  if (kernel != Kernel::kNone) {
    at::parallel_for(0, total, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> pack(kernel == Kernel::kSmall ? small_gemm_pack_floats(k, n) : 0);
      for (int64_t i = begin; i < end; ++i)
        multiply(kernel, m, n, k, matrix_at(ac, i, inner), matrix_at(bc, i, inner),
                 out.data_ptr<float>() + batch_offset(out, i, inner), out.stride(-2), pack.data());
    });
    return out;
  }
  auto pick = [&](const torch::Tensor& t, int64_t i) {
    return dims == 4 ? t.select(0, i / inner).select(0, i % inner) : t.select(0, i);
  };
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, total, 1, [&](int64_t begin, int64_t end) {
    c10::InferenceMode inference_guard(inference);  // thread-local modes of the caller
    torch::NoGradGuard no_grad;
    for (int64_t i = begin; i < end; ++i) {
      auto o = pick(out, i);
      at::mm_out(o, pick(a, i), pick(b, i));
    }
  });
  return out;
}

/// loop_bmm with gradients: the backward products (dA = dC B^T, dB = A^T dC) run through loop_bmm as well.
struct LoopProduct : torch::autograd::Function<LoopProduct> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return loop_bmm(a, b, {});
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &a = saved[0], &b = saved[1], &grad = grads[0];
    torch::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = catseg_bmm(grad, b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) grad_b = catseg_bmm(a.transpose(-2, -1), grad);
    return {grad_a, grad_b};
  }
};

}  // namespace

torch::Tensor catseg_bmm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor out) {
  if (out.defined()) {
    std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
    shape.back() = b.size(-1);
    PAT_CHECK(out.sizes() == torch::IntArrayRef(shape) && out.stride(-1) == 1 && out.stride(-2) >= shape.back() &&
                  out.scalar_type() == a.scalar_type() && out.device() == a.device(),
              "catseg_bmm: expected out ", torch::IntArrayRef(shape), " with contiguous rows, got ", out.sizes(),
              " strides ", out.strides());
  }
  const auto& paths = catseg_fast_paths();
  const bool records = torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (paths.fused_attention && loop_applies(a, b)) {
    if (!records) return loop_bmm(a, b, out);
    if (paths.loop_gradients && !out.defined()) return LoopProduct::apply(a, b);
  }
  return out.defined() ? out.copy_(torch::matmul(a, b)) : torch::matmul(a, b);
}

torch::Tensor catseg_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            const torch::Tensor& into) {
  auto fallback = [&] {
    auto y = torch::nn::functional::linear(x, weight, bias);
    return into.defined() ? into.add_(y) : y;
  };
  auto cpu_float = [](const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat; };
  const bool fast = catseg_fast_paths().split_linear && process_sgemm() && !torch::GradMode::is_enabled() &&
                    weight.dim() == 2 && weight.numel() > 0 && cpu_float(weight) && x.dim() >= 1 &&
                    x.size(-1) == weight.size(1) && cpu_float(x) &&
                    (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0) && cpu_float(bias))) &&
                    (!into.defined() || (into.is_contiguous() && cpu_float(into) && into.size(-1) == weight.size(0) &&
                                         into.numel() / weight.size(0) == x.numel() / x.size(-1)));
  if (!fast) return fallback();
  const int64_t k = weight.size(1), n = weight.size(0);
  auto rows = x.reshape({-1, k});
  if (!blas_operand(rows).op) rows = rows.contiguous();
  const MatrixView wt{weight.data_ptr<float>(), weight.stride(1), weight.stride(0)};  // weight^T: (p, j) = weight[j, p]
  // (contiguous() keeps any stride of a size-1 dimension, so a single column can still be unreadable by the BLAS.)
  if (!blas_operand(rows).op || !blas_operand(k, n, wt.row_stride, wt.col_stride).op ||
      !fits_int({rows.size(0), n, k, rows.stride(0), rows.stride(1), wt.row_stride, wt.col_stride}))
    return fallback();
  RECORD_FUNCTION("pat::linear", std::vector<c10::IValue>({x, weight}));  // profilers count its FLOPs
  const int64_t m = rows.size(0);
  const auto b = bias.defined() ? bias.contiguous() : bias;
  auto out = into.defined() ? into.view({m, n}) : torch::empty({m, n}, x.options());
  // Each task walks its rows in blocks whose outputs stay in L2 from the bias fill through the product.
  const int64_t block = std::max(kSplitLinearRows, kLinearBlockFloats / n);
  const bool accumulate = b.defined() || into.defined();
  at::parallel_for(0, m, kSplitLinearRows, [&](int64_t begin, int64_t end) {
    for (int64_t r0 = begin; r0 < end; r0 += block) {
      const int64_t rows_here = std::min(block, end - r0);
      float* c = out.data_ptr<float>() + r0 * n;
      if (b.defined()) {
        const float* pb = b.data_ptr<float>();
        for (int64_t r = 0; r < rows_here; ++r)
          if (into.defined())
            for (int64_t j = 0; j < n; ++j) c[r * n + j] += pb[j];
          else
            std::copy_n(pb, n, c + r * n);
      }
      multiply(Kernel::kBlas, rows_here, n, k, matrix_at(rows, r0, 1), wt, c, n, nullptr, accumulate ? 1.0f : 0.0f);
    }
  });
  if (into.defined()) return into;
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = n;
  return out.view(shape);
}

bool catseg_fused_window_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   const torch::Tensor& mask, const torch::Tensor& out) {
  if (!catseg_fast_paths().fused_attention || torch::GradMode::is_enabled() || q.dim() != 4) return false;
  const int64_t bw = q.size(0), heads = q.size(1), n = q.size(2), d = q.size(3);
  for (const auto* t : {&q, &k, &v, &out})
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat || t->sizes() != q.sizes()) return false;
  if (mask.defined() && (mask.dim() != 3 || mask.size(1) != n || mask.size(2) != n || mask.size(0) == 0 ||
                         bw % mask.size(0) != 0 || mask.scalar_type() != torch::kFloat || !mask.device().is_cpu()))
    return false;
  const auto kt = k.transpose(-2, -1);
  const Kernel kernel = product_kernel(n, n, d);  // both products: n * n * d multiply-adds
  if (kernel == Kernel::kNone || out.stride(-1) != 1 || out.stride(-2) < d) return false;
  if (kernel == Kernel::kBlas && (!blas_operand(q).op || !blas_operand(kt).op || !blas_operand(v).op ||
                                  !fits_int({n, d, q.stride(-2), q.stride(-1), k.stride(-2), k.stride(-1), v.stride(-2),
                                             v.stride(-1), out.stride(-2)})))
    return false;
  RECORD_FUNCTION("pat::window_attention", std::vector<c10::IValue>({q, k, v}));  // profilers count its FLOPs
  const auto masks = mask.defined() ? mask.contiguous() : mask;
  const int64_t nw = mask.defined() ? mask.size(0) : 1;
  const float* pm = masks.defined() ? masks.data_ptr<float>() : nullptr;
  // One window (all its heads) per task: its [heads, N, N] scores live in a per-thread buffer, in cache, from the
  // first product through the mask and the softmax to the second product.
  at::parallel_for(0, bw, 1, [&](int64_t begin, int64_t end) {
    auto scores = torch::empty({heads * n, n}, q.options());
    float* ps = scores.data_ptr<float>();
    std::vector<float> pack(
        kernel == Kernel::kSmall ? std::max(small_gemm_pack_floats(d, n), small_gemm_pack_floats(n, d)) : 0);
    for (int64_t w = begin; w < end; ++w) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t i = w * heads + h;
        float* s = ps + h * n * n;
        multiply(kernel, n, n, d, matrix_at(q, i, heads), matrix_at(kt, i, heads), s, n, pack.data());
        if (pm) {
          const float* m = pm + (w % nw) * n * n;
          for (int64_t j = 0; j < n * n; ++j) s[j] += m[j];
        }
      }
      at::_softmax_out(scores, scores, -1, false);
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t i = w * heads + h;
        multiply(kernel, n, d, n, MatrixView{ps + h * n * n, n, 1}, matrix_at(v, i, heads),
                 out.data_ptr<float>() + batch_offset(out, i, heads), out.stride(-2), pack.data());
      }
    }
  });
  return true;
}

torch::Tensor catseg_head_conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const bool fast = catseg_fast_paths().head_conv && !torch::GradMode::is_enabled() && x.dim() == 4 &&
                    x.device().is_cpu() && x.scalar_type() == torch::kFloat && weight.dim() == 4 &&
                    weight.size(0) == 1 && weight.size(1) == x.size(1) && weight.size(2) == 3 && weight.size(3) == 3 &&
                    weight.device().is_cpu() && weight.scalar_type() == torch::kFloat &&
                    (!bias.defined() || (bias.numel() == 1 && bias.device().is_cpu()));
  if (!fast)
    return torch::nn::functional::conv2d(x, weight, torch::nn::functional::Conv2dFuncOptions().bias(bias).padding(1));
  // The 9 taps' dot products of every pixel as one product [N*H*W, C] x [C, 9] (its FLOPs counted there), then each
  // output the sum of its neighbours' taps.
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto pixels = x.permute({0, 2, 3, 1}).reshape({-1, c});  // a view of channels-last input
  const auto taps = catseg_linear(pixels, weight[0].permute({1, 2, 0}).reshape({9, c})).contiguous();
  const float b = bias.defined() ? bias.item<float>() : 0.0f;
  auto out = torch::empty({n, 1, h, w}, x.options());
  const float* pt = taps.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, n * h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t image = row / h, y = row % h;
      for (int64_t col = 0; col < w; ++col) {
        float sum = b;
        for (int64_t dy = -1; dy <= 1; ++dy) {
          if (y + dy < 0 || y + dy >= h) continue;
          for (int64_t dx = -1; dx <= 1; ++dx)
            if (col + dx >= 0 && col + dx < w)
              sum += pt[((image * h + y + dy) * w + col + dx) * 9 + (dy + 1) * 3 + dx + 1];
        }
        po[row * w + col] = sum;
      }
    }
  });
  return out;
}

namespace {

/// The on/off switches by name, in the order they are listed ("chunking", a byte budget, is handled apart).
constexpr std::pair<const char*, bool CatSegFastPaths::*> kSwitches[] = {
    {"tokens_last", &CatSegFastPaths::tokens_last},         {"factored_guidance", &CatSegFastPaths::factored_guidance},
    {"fused_attention", &CatSegFastPaths::fused_attention}, {"channels_last", &CatSegFastPaths::channels_last},
    {"gemm_upsampling", &CatSegFastPaths::gemm_upsampling}, {"small_gemm", &CatSegFastPaths::small_gemm},
    {"split_linear", &CatSegFastPaths::split_linear},       {"head_conv", &CatSegFastPaths::head_conv},
    {"loop_gradients", &CatSegFastPaths::loop_gradients}};

}  // namespace

std::vector<std::string> catseg_fast_path_names() {
  std::vector<std::string> names;
  for (const auto& [name, member] : kSwitches) names.emplace_back(name);
  names.emplace_back("chunking");
  return names;
}

void set_catseg_fast_path(const std::string& name, bool enabled) {
  auto& p = catseg_fast_paths();
  if (name == "chunking") {
    p.chunk_bytes = enabled ? CatSegFastPaths{}.chunk_bytes : 0;
    return;
  }
  for (const auto& [known, member] : kSwitches)
    if (name == known) {
      p.*member = enabled;
      return;
    }
  std::string valid;
  for (const auto& n : catseg_fast_path_names()) valid += (valid.empty() ? "" : ", ") + n;
  PAT_FAIL("unknown CAT-Seg fast path '", name, "' (valid: ", valid, ")");
}

}  // namespace pat::model
