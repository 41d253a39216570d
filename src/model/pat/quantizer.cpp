#include "pat/model/pat/quantizer.h"

#include <algorithm>

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

QuantizerImpl::QuantizerImpl(QuantizerOptions options) : options_(options) {
  PAT_CHECK(options_.dim > 0, "quantizer.dim: expected > 0, got ", options_.dim);
  PAT_CHECK(options_.codebook_size > 0, "quantizer.codebook_size: expected > 0, got ", options_.codebook_size);
  PAT_CHECK(options_.decay >= 0.0 && options_.decay < 1.0, "quantizer.decay: expected a value in [0, 1), got ",
            options_.decay);
  PAT_CHECK(options_.dead_code_steps >= 0, "quantizer.dead_code_steps: expected >= 0 (0 disables), got ",
            options_.dead_code_steps);
  unused_steps_ = register_buffer("unused_steps", torch::zeros({options_.codebook_size}, torch::kInt64));
}

torch::Tensor QuantizerImpl::decode(const torch::Tensor& ids) const {
  PAT_CHECK(ids.defined() && ids.dim() == 3 && ids.scalar_type() == torch::kInt64,
            "quantizer.decode: expected ids [B, H, W] int64, got ", ids.defined() ? ids.sizes() : c10::IntArrayRef{});
  if (ids.numel() > 0) {
    PAT_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < options_.codebook_size,
              "quantizer.decode: expected ids in [0, ", options_.codebook_size, ")");
  }
  torch::NoGradGuard no_grad;
  auto table = codes();
  auto selected = table.index_select(0, ids.flatten().to(table.device()));
  return selected.view({ids.size(0), ids.size(1), ids.size(2), options_.dim}).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor QuantizerImpl::rows_of(const torch::Tensor& z) const {
  PAT_CHECK(z.defined() && z.dim() == 4 && z.size(1) == options_.dim && z.is_floating_point(),
            "quantizer: expected z [B, ", options_.dim, ", H, W] floating, got ",
            z.defined() ? z.sizes() : c10::IntArrayRef{});
  return z.permute({0, 2, 3, 1}).reshape({-1, options_.dim}).to(torch::kFloat32);
}

void QuantizerImpl::reduce_stats(std::vector<torch::Tensor>& stats) const {
  if (!stats_reducer_) return;
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& t : stats) shapes.push_back(t.sizes().vec());
  stats_reducer_(stats);
  PAT_CHECK(stats.size() == shapes.size(), "quantizer stats reducer: expected ", shapes.size(), " tensors back, got ",
            stats.size());
  for (size_t i = 0; i < stats.size(); ++i) {
    PAT_CHECK(stats[i].defined() && stats[i].sizes().vec() == shapes[i], "quantizer stats reducer: tensor ", i,
              " expected shape ", c10::IntArrayRef(shapes[i]), ", got ",
              stats[i].defined() ? stats[i].sizes() : c10::IntArrayRef{});
  }
}

void QuantizerImpl::record_step(const torch::Tensor& counts, const torch::Tensor& rows) {
  torch::NoGradGuard no_grad;
  auto c = counts.to(unused_steps_.device(), torch::kFloat32);
  step_counts_ = step_counts_.defined() ? step_counts_ + c : c;
  restart_rows_ = rows.detach();
}

void QuantizerImpl::end_step() {
  if (!step_counts_.defined()) return;
  torch::NoGradGuard no_grad;
  auto used = step_counts_ > 0;
  auto rows = restart_rows_;
  step_counts_ = torch::Tensor();
  restart_rows_ = torch::Tensor();
  unused_steps_.copy_(torch::where(used, torch::zeros_like(unused_steps_), unused_steps_ + 1));
  if (options_.dead_code_steps == 0) return;
  auto dead = (unused_steps_ >= options_.dead_code_steps).nonzero().flatten();
  if (dead.numel() == 0) return;
  // The candidates: every rank's inputs under data parallelism, this process's otherwise.
  auto pool = restart_pool_ ? restart_pool_(rows) : rows;
  PAT_CHECK(pool.defined() && pool.dim() == 2 && pool.size(1) == rows.size(1), "quantizer restart pool: expected [N, ",
            rows.size(1), "] rows back, got ", pool.defined() ? pool.sizes() : c10::IntArrayRef{});
  PAT_ASSERT(pool.size(0) > 0);
  // Without replacement: at most one code per input; the longest-unused codes first (lowest index among
  // equals), surplus dead codes wait for the next step.
  const int64_t count = std::min<int64_t>(dead.numel(), pool.size(0));
  auto order = std::get<1>(torch::sort(unused_steps_.index_select(0, dead), /*stable=*/true, /*dim=*/0,
                                       /*descending=*/true));
  dead = dead.index_select(0, order.slice(0, 0, count));
  auto pick = torch::randperm(pool.size(0), torch::TensorOptions().dtype(torch::kInt64)).slice(0, 0, count);
  auto chosen = F::normalize(pool.index_select(0, pick.to(pool.device())), F::NormalizeFuncOptions().dim(1))
                    .to(torch::kFloat32)
                    .contiguous();
  if (restart_sync_) {
    auto shape = chosen.sizes().vec();
    restart_sync_(chosen);
    PAT_CHECK(chosen.defined() && chosen.sizes().vec() == shape, "quantizer restart sync: expected shape ",
              c10::IntArrayRef(shape), " back, got ", chosen.defined() ? chosen.sizes() : c10::IntArrayRef{});
  }
  unused_steps_.index_fill_(0, dead, 0);
  reseed(dead, chosen);
}

QuantizerOutput QuantizerImpl::make_output(const torch::Tensor& z, const torch::Tensor& rows, const torch::Tensor& ids,
                                           const torch::Tensor& selected, const torch::Tensor& counts) const {
  const int64_t b = z.size(0), h = z.size(2), w = z.size(3);
  QuantizerOutput out;
  auto q = selected.view({b, h, w, options_.dim}).permute({0, 3, 1, 2}).to(z.scalar_type());
  out.quantized = z + (q - z).detach();
  out.ids = ids.view({b, h, w});
  out.commitment_loss = (rows - selected.detach()).pow(2).sum(1).mean();
  out.codebook_loss = torch::zeros({}, rows.options());
  torch::NoGradGuard no_grad;
  out.perplexity = quantizer_perplexity(counts);
  out.usage = quantizer_usage(counts);
  return out;
}

torch::Tensor quantizer_nearest(const torch::Tensor& rows, const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  // Autocast (CPU or CUDA) would run the product in bfloat16 and flip near-tied assignments.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  return rows.to(torch::kFloat32).matmul(codes.to(torch::kFloat32).t()).argmax(1);
}

torch::Tensor quantizer_perplexity(const torch::Tensor& counts) {
  torch::NoGradGuard no_grad;
  auto c = counts.to(torch::kFloat32);
  auto total = c.sum().clamp_min(1e-12);
  auto p = c / total;
  auto entropy = -(p * torch::where(p > 0, p.log(), torch::zeros_like(p))).sum();
  return entropy.exp();
}

torch::Tensor quantizer_usage(const torch::Tensor& counts) {
  torch::NoGradGuard no_grad;
  return (counts > 0).to(torch::kFloat32).mean();
}

}  // namespace pat::model
