#include "pat/model/catseg/fast_paths.h"

#include <dlfcn.h>

#include <algorithm>
#include <limits>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include "pat/core/error.h"

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

/// How a row-major [rows, cols] matrix view is read as a column-major BLAS operand: 'N' with leading dimension
/// stride(-2) when rows are contiguous, 'T' with stride(-1) when columns are; '\0' otherwise.
struct BlasOperand {
  char op = '\0';
  int64_t ld = 0;
};
BlasOperand blas_operand(const torch::Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1), rs = t.stride(-2), cs = t.stride(-1);
  if (cs == 1 && rs >= std::max<int64_t>(cols, 1)) return {'N', rs};
  if (rs == 1 && cs >= std::max<int64_t>(rows, 1)) return {'T', cs};
  return {};
}

}  // namespace

torch::Tensor catseg_bmm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor out) {
  const int64_t dims = a.dim();
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(-1);
  if (out.defined())
    PAT_CHECK(out.sizes() == torch::IntArrayRef(shape) && out.stride(-1) == 1 && out.stride(-2) >= shape.back() &&
                  out.scalar_type() == a.scalar_type() && out.device() == a.device(),
              "catseg_bmm: expected out ", torch::IntArrayRef(shape), " with contiguous rows, got ", out.sizes(),
              " strides ", out.strides());
  const bool loop = catseg_fast_paths().fused_attention && !torch::GradMode::is_enabled() && a.device().is_cpu() &&
                    (dims == 3 || dims == 4) && b.dim() == dims && a.scalar_type() == b.scalar_type() &&
                    a.sizes().slice(0, dims - 2) == b.sizes().slice(0, dims - 2) && a.size(-1) == b.size(-2);
  if (!loop) return out.defined() ? out.copy_(torch::matmul(a, b)) : torch::matmul(a, b);
  RECORD_FUNCTION("pat::catseg_bmm", std::vector<c10::IValue>({a, b}));  // profilers see one product (FLOPs)
  if (!out.defined()) out = torch::empty(shape, a.options());
  const int64_t inner = dims == 4 ? a.size(1) : 1;
  const int64_t total = dims == 4 ? a.size(0) * inner : a.size(0);
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const Sgemm sgemm = process_sgemm();
  torch::Tensor ac = a, bc = b;
  BlasOperand oa = blas_operand(a), ob = blas_operand(b);
  if (sgemm && a.scalar_type() == torch::kFloat && m > 0 && n > 0 && k > 0 &&
      std::max({m, n, k, oa.ld, ob.ld, out.stride(-2)}) <= std::numeric_limits<int>::max()) {
    if (!oa.op) ac = a.contiguous(), oa = {'N', k};  // rows of k contiguous floats
    if (!ob.op) bc = b.contiguous(), ob = {'N', n};
    const float* pa = ac.data_ptr<float>();
    const float* pb = bc.data_ptr<float>();
    float* pc = out.data_ptr<float>();
    auto offset = [&](const torch::Tensor& t, int64_t i) {
      return dims == 4 ? (i / inner) * t.stride(0) + (i % inner) * t.stride(1) : i * t.stride(0);
    };
    // Row-major C = A B is column-major C^T = B^T A^T: BLAS gets B first.
    const int im = int(m), in = int(n), ik = int(k), lda = int(oa.ld), ldb = int(ob.ld), ldc = int(out.stride(-2));
    const float one = 1.0f, zero = 0.0f;
    at::parallel_for(0, total, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        sgemm(&ob.op, &oa.op, &in, &im, &ik, &one, pb + offset(bc, i), &ldb, pa + offset(ac, i), &lda, &zero,
              pc + offset(out, i), &ldc);
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

std::vector<std::string> catseg_fast_path_names() {
  return {"tokens_last", "factored_guidance", "fused_attention", "channels_last", "gemm_upsampling", "chunking"};
}

void set_catseg_fast_path(const std::string& name, bool enabled) {
  auto& p = catseg_fast_paths();
  if (name == "tokens_last") {
    p.tokens_last = enabled;
  } else if (name == "factored_guidance") {
    p.factored_guidance = enabled;
  } else if (name == "fused_attention") {
    p.fused_attention = enabled;
  } else if (name == "channels_last") {
    p.channels_last = enabled;
  } else if (name == "gemm_upsampling") {
    p.gemm_upsampling = enabled;
  } else if (name == "chunking") {
    p.chunk_bytes = enabled ? CatSegFastPaths{}.chunk_bytes : 0;
  } else {
    std::string valid;
    for (const auto& n : catseg_fast_path_names()) valid += (valid.empty() ? "" : ", ") + n;
    PAT_FAIL("unknown CAT-Seg fast path '", name, "' (valid: ", valid, ")");
  }
}

}  // namespace pat::model
