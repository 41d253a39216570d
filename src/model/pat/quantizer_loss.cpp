#include "pat/model/pat/quantizer_loss.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

namespace F = torch::nn::functional;

LossQuantizerImpl::LossQuantizerImpl(QuantizerOptions options) : QuantizerImpl(options) {
  auto init = F::normalize(torch::randn({options_.codebook_size, options_.dim}), F::NormalizeFuncOptions().dim(1));
  codebook_ = register_parameter("codebook", init);
}

torch::Tensor LossQuantizerImpl::codes() const {
  torch::NoGradGuard no_grad;
  return F::normalize(codebook_, F::NormalizeFuncOptions().dim(1));
}

QuantizerOutput LossQuantizerImpl::forward(const torch::Tensor& z) {
  auto rows = rows_of(z);
  auto table = F::normalize(codebook_, F::NormalizeFuncOptions().dim(1));  // with grad to the parameter
  auto ids = quantizer_nearest(rows, table.detach());
  auto counts = torch::bincount(ids, {}, options_.codebook_size).to(torch::kFloat32);
  auto selected = table.index_select(0, ids);
  auto out = make_output(z, rows, ids, selected, counts);
  out.codebook_loss = (rows.detach() - selected).pow(2).sum(1).mean();
  if (is_training() && options_.dead_code_steps > 0) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> stats{counts.clone()};
    reduce_stats(stats);
    record_step(stats[0], rows);
  }
  return out;
}

void LossQuantizerImpl::reseed(const torch::Tensor& dead, const torch::Tensor& fresh) {
  torch::NoGradGuard no_grad;
  // variable_data(): should a graph still hold codebook_ (end_step called before backward), a version bump
  // would break that backward. The re-seeded rows were selected nowhere, their gradient is zero anyway.
  codebook_.variable_data().index_copy_(0, dead, fresh.to(codebook_.device(), codebook_.scalar_type()));
}

}  // namespace pat::model
