#include "pat/model/pat/pyramid_tokenizer.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/pat/quantizer_factory.h"

namespace pat::model {

namespace F = torch::nn::functional;

namespace {

c10::IntArrayRef shape_of(const torch::Tensor& t) {
  return t.defined() ? t.sizes() : c10::IntArrayRef{};
}

}  // namespace

void pyramid_check_levels(const std::vector<int64_t>& levels, int64_t num_levels, const std::string& where) {
  PAT_CHECK(!levels.empty(), where, ": expected at least one level, got none");
  for (size_t i = 0; i < levels.size(); ++i) {
    PAT_CHECK(levels[i] >= 0 && levels[i] < num_levels, where, ": expected level indices in [0, ", num_levels,
              "), got ", levels[i]);
    PAT_CHECK(i == 0 || levels[i] > levels[i - 1], where, ": expected strictly ascending level indices, got ",
              c10::IntArrayRef(levels));
  }
}

std::map<std::string, double> PyramidTokenizerOutput::scalars() const {
  std::map<std::string, double> out;
  for (size_t l = 0; l < perplexity.size(); ++l) {
    if (!perplexity[l].defined()) continue;
    out["l" + std::to_string(l) + ".perplexity"] = perplexity[l].item<double>();
    out["l" + std::to_string(l) + ".usage"] = usage[l].item<double>();
  }
  if (commitment_loss.defined()) out["commitment_loss"] = commitment_loss.item<double>();
  if (codebook_loss.defined()) out["codebook_loss"] = codebook_loss.item<double>();
  return out;
}

PyramidTokenizerImpl::PyramidTokenizerImpl(PyramidTokenizerOptions options) : options_(std::move(options)) {
  PAT_CHECK(!options_.level_channels.empty(), "pat.level_channels: expected one entry per pyramid level, got none");
  for (auto c : options_.level_channels) PAT_CHECK(c > 0, "pat.level_channels: expected positive counts, got ", c);
  pyramid_check_levels(options_.levels, num_levels(), "pat.levels");
  const int64_t d = options_.codebook.dim;
  PAT_CHECK(d > 0, "pat.codebook.dim: expected > 0, got ", d);
  int64_t previous = -1;
  for (auto l : options_.levels) {
    const std::string tag = "_l" + std::to_string(l);
    project_.emplace(l, register_module("project" + tag,
                                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.level_channels[l], d, 1))));
    quantize_.emplace(l, register_module("quantize" + tag, make_quantizer(options_.quantizer, options_.codebook)));
    if (options_.compose && previous >= 0) {
      const int64_t stride = int64_t{1} << (l - previous);
      compose_.emplace(
          l, register_module(
                 "compose" + tag,
                 torch::nn::Conv2d(torch::nn::Conv2dOptions(d, d, 2 * stride - 1).stride(stride).padding(stride - 1))));
    }
    previous = l;
  }
}

PyramidTokenizerOutput PyramidTokenizerImpl::forward(const std::vector<torch::Tensor>& levels) {
  PAT_PROFILE_SCOPE("pat.tokenizer");
  PAT_CHECK(static_cast<int64_t>(levels.size()) == num_levels(), "pyramid tokenizer: expected ", num_levels(),
            " level tensors (finest first), got ", levels.size());
  const size_t n = levels.size();
  PyramidTokenizerOutput out;
  out.quantized.resize(n);
  out.ids.resize(n);
  out.projected.resize(n);
  out.perplexity.resize(n);
  out.usage.resize(n);
  torch::Tensor previous_q;
  int64_t batch = -1;
  for (auto l : options_.levels) {
    const auto& input = levels[l];
    PAT_CHECK(
        input.defined() && input.dim() == 4 && input.size(1) == options_.level_channels[l] && input.is_floating_point(),
        "pyramid tokenizer: expected level ", l, " [B, ", options_.level_channels[l], ", H, W] floating, got ",
        shape_of(input));
    PAT_CHECK(batch < 0 || input.size(0) == batch, "pyramid tokenizer: expected batch ", batch, " at level ", l,
              ", got ", input.size(0));
    batch = input.size(0);
    auto x = options_.decoupled ? input.detach() : input;
    auto z = F::normalize(project_.at(l)->forward(x), F::NormalizeFuncOptions().dim(1));
    auto composer = compose_.find(l);
    if (composer != compose_.end()) {
      auto down = composer->second->forward(previous_q);
      PAT_CHECK(down.sizes() == z.sizes(), "pyramid tokenizer: level ", l, " is ", shape_of(input),
                " but the finer level composes to ", down.sizes(), " (each level must be 2x coarser)");
      z = F::normalize(z + down, F::NormalizeFuncOptions().dim(1));
    }
    auto q = quantize_.at(l)->forward(z);
    out.quantized[l] = q.quantized;
    out.ids[l] = q.ids;
    out.projected[l] = z;
    out.perplexity[l] = q.perplexity;
    out.usage[l] = q.usage;
    out.commitment_loss = out.commitment_loss.defined() ? out.commitment_loss + q.commitment_loss : q.commitment_loss;
    out.codebook_loss = out.codebook_loss.defined() ? out.codebook_loss + q.codebook_loss : q.codebook_loss;
    previous_q = q.quantized;
  }
  return out;
}

std::vector<torch::Tensor> PyramidTokenizerImpl::decode(const std::vector<torch::Tensor>& ids) const {
  PAT_CHECK(static_cast<int64_t>(ids.size()) == num_levels(), "pyramid tokenizer decode: expected ", num_levels(),
            " id maps (finest first), got ", ids.size());
  std::vector<torch::Tensor> out(ids.size());
  for (auto l : options_.levels) {
    PAT_CHECK(ids[l].defined(), "pyramid tokenizer decode: expected ids for used level ", l);
    out[l] = quantize_.at(l)->decode(ids[l]);
  }
  return out;
}

Quantizer PyramidTokenizerImpl::quantizer(int64_t level) const {
  auto it = quantize_.find(level);
  PAT_CHECK(it != quantize_.end(), "pyramid tokenizer: level ", level, " is not among the used levels ",
            c10::IntArrayRef(options_.levels));
  return it->second;
}

void PyramidTokenizerImpl::set_stats_reducer(const QuantizerStatsReducer& reducer) {
  for (auto& [level, q] : quantize_) q->set_stats_reducer(reducer);
}

void PyramidTokenizerImpl::set_restart_sync(const QuantizerRestartSync& sync) {
  for (auto& [level, q] : quantize_) q->set_restart_sync(sync);
}

void PyramidTokenizerImpl::end_step() {
  for (auto& [level, q] : quantize_) q->end_step();
}

}  // namespace pat::model
