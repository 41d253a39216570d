#include "pat/model/pat/quantizer_ema.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

EmaQuantizerImpl::EmaQuantizerImpl(QuantizerOptions options) : QuantizerImpl(options) {
  auto init = F::normalize(torch::randn({options_.codebook_size, options_.dim}), F::NormalizeFuncOptions().dim(1));
  codebook_ = register_buffer("codebook", init);
  ema_counts_ = register_buffer("ema_counts", torch::ones({options_.codebook_size}));
  ema_sums_ = register_buffer("ema_sums", init.clone());
}

QuantizerOutput EmaQuantizerImpl::forward(const torch::Tensor& z) {
  auto rows = rows_of(z);
  auto table = codebook_.clone();  // the codes of this step, before the update below
  auto ids = quantizer_nearest(rows, table);
  auto counts = torch::bincount(ids, {}, options_.codebook_size).to(torch::kFloat32);
  auto out = make_output(z, rows, ids, table.index_select(0, ids), counts);
  if (is_training()) update(rows.detach(), ids, counts);
  return out;
}

void EmaQuantizerImpl::update(const torch::Tensor& rows, const torch::Tensor& ids, const torch::Tensor& counts) {
  torch::NoGradGuard no_grad;
  auto sums = torch::zeros_like(ema_sums_).index_add_(0, ids, rows);
  std::vector<torch::Tensor> stats{counts.clone(), sums};
  reduce_stats(stats);
  const double decay = options_.decay;
  ema_counts_.mul_(decay).add_(stats[0].to(ema_counts_.device()), 1.0 - decay);
  ema_sums_.mul_(decay).add_(stats[1].to(ema_sums_.device()), 1.0 - decay);
  codebook_.copy_(F::normalize(ema_sums_, F::NormalizeFuncOptions().dim(1)));
  record_step(stats[0], rows);
}

void EmaQuantizerImpl::reseed(const torch::Tensor& dead, const torch::Tensor& fresh) {
  torch::NoGradGuard no_grad;
  auto rows = fresh.to(codebook_.device(), codebook_.scalar_type());
  codebook_.index_copy_(0, dead, rows);
  ema_sums_.index_copy_(0, dead, rows);
  ema_counts_.index_fill_(0, dead, 1.0);
}

}  // namespace pat::model
