#include "pat/model/catseg/fast_paths.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

CatSegFastPaths& catseg_fast_paths() {
  static CatSegFastPaths paths;
  return paths;
}

int64_t catseg_chunk_items(int64_t total, int64_t bytes_per_item) {
  const int64_t budget = catseg_fast_paths().chunk_bytes;
  if (total <= 1 || budget <= 0 || torch::GradMode::is_enabled()) return std::max<int64_t>(total, 1);
  return std::clamp<int64_t>(budget / std::max<int64_t>(bytes_per_item, 1), 1, total);
}

torch::Tensor catseg_bmm(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t dims = a.dim();
  const bool loop = catseg_fast_paths().fused_attention && !torch::GradMode::is_enabled() && a.device().is_cpu() &&
                    (dims == 3 || dims == 4) && b.dim() == dims && a.scalar_type() == b.scalar_type() &&
                    a.sizes().slice(0, dims - 2) == b.sizes().slice(0, dims - 2) && a.size(-1) == b.size(-2);
  if (!loop) return torch::matmul(a, b);
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(-1);
  auto out = torch::empty(shape, a.options());
  const int64_t inner = dims == 4 ? a.size(1) : 1;
  const int64_t total = dims == 4 ? a.size(0) * inner : a.size(0);
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
  return {"tokens_last", "factored_guidance", "fused_attention", "channels_last", "chunking"};
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
  } else if (name == "chunking") {
    p.chunk_bytes = enabled ? CatSegFastPaths{}.chunk_bytes : 0;
  } else {
    std::string valid;
    for (const auto& n : catseg_fast_path_names()) valid += (valid.empty() ? "" : ", ") + n;
    PAT_FAIL("unknown CAT-Seg fast path '", name, "' (valid: ", valid, ")");
  }
}

}  // namespace pat::model
