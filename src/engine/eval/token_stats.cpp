#include "pat/engine/eval/token_stats.h"

#include <cmath>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::engine {

TokenClassStats::TokenClassStats(int64_t num_tokens, int64_t ignore_label)
    : num_tokens_(num_tokens), ignore_label_(ignore_label) {
  PAT_CHECK(num_tokens > 0, "token statistics: expected a positive number of tokens, got ", num_tokens);
  table_ = torch::zeros({num_tokens, 0}, torch::kInt64);
}

void TokenClassStats::add(const torch::Tensor& tokens, const torch::Tensor& labels) {
  PAT_CHECK(tokens.defined() && labels.defined() && tokens.sizes() == labels.sizes(),
            "token statistics: expected token ids and labels of the same shape, got ",
            tokens.defined() ? tokens.sizes() : c10::IntArrayRef{}, " and ",
            labels.defined() ? labels.sizes() : c10::IntArrayRef{});
  PAT_CHECK(!tokens.is_floating_point() && !labels.is_floating_point(),
            "token statistics: expected integer token ids and labels");
  auto t = tokens.detach().to(torch::kCPU, torch::kInt64).flatten();
  auto c = labels.detach().to(torch::kCPU, torch::kInt64).flatten();
  auto valid = (c >= 0) & (c != ignore_label_);
  t = t.masked_select(valid);
  c = c.masked_select(valid);
  if (t.numel() == 0) return;
  const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
  PAT_CHECK(lo >= 0 && hi < num_tokens_, "token statistics: expected token ids in [0, ", num_tokens_, "), got [", lo,
            ", ", hi, "]");
  const int64_t classes = std::max(table_.size(1), c.max().item<int64_t>() + 1);
  if (classes > table_.size(1))
    table_ = torch::cat({table_, torch::zeros({num_tokens_, classes - table_.size(1)}, torch::kInt64)}, 1);
  table_ += torch::bincount(t * classes + c, {}, num_tokens_ * classes).view({num_tokens_, classes});
}

int64_t TokenClassStats::pixels() const {
  return table_.sum().item<int64_t>();
}

int64_t TokenClassStats::classes_present() const {
  return table_.size(1) ? (table_.sum(0) > 0).sum().item<int64_t>() : 0;
}

int64_t TokenClassStats::tokens_present() const {
  return table_.size(1) ? (table_.sum(1) > 0).sum().item<int64_t>() : 0;
}

double TokenClassStats::purity() const {
  const int64_t n = pixels();
  if (n == 0) return 0;
  return static_cast<double>(std::get<0>(table_.max(1)).sum().item<int64_t>()) / static_cast<double>(n);
}

double TokenClassStats::nmi() const {
  const int64_t total = pixels();
  if (total == 0) return 0;
  auto joint = table_.to(torch::kFloat64) / static_cast<double>(total);
  auto pt = joint.sum(1), pc = joint.sum(0);
  auto entropy = [](const torch::Tensor& p) {
    auto nz = p.masked_select(p > 0);
    return -(nz * nz.log()).sum().item<double>();
  };
  const double ht = entropy(pt), hc = entropy(pc);
  if (ht == 0 && hc == 0) return 1.0;  // one token, one class: the labelings agree
  if (ht == 0 || hc == 0) return 0.0;
  auto outer = pt.unsqueeze(1) * pc.unsqueeze(0);
  auto mask = joint > 0;
  auto pj = joint.masked_select(mask);
  const double mi = (pj * (pj / outer.masked_select(mask)).log()).sum().item<double>();
  return std::max(0.0, mi / ((ht + hc) / 2));
}

}  // namespace pat::engine
