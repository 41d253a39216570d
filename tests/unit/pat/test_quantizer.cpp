// Codebook quantizers: nearest-code search, EMA math, Laplace smoothing, dead-code restart,
// straight-through gradient, statistics, eval mode, distributed hooks, factory. Expected values are
// computed by hand in the comments (tiny K and d).
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/model/pat/quantizer_ema.h"
#include "pat/model/pat/quantizer_factory.h"
#include "pat/model/pat/quantizer_loss.h"
#include "test_support.h"

namespace {

using pat::model::EmaQuantizer;
using pat::model::EmaQuantizerImpl;
using pat::model::LossQuantizer;
using pat::model::QuantizerOptions;

namespace F = torch::nn::functional;

torch::Tensor unit_rows(int64_t n, int64_t d) {
  return F::normalize(torch::randn({n, d}), F::NormalizeFuncOptions().dim(1));
}

// Rows [N, d] as a map [1, d, 1, N].
torch::Tensor as_map(const torch::Tensor& rows) {
  return rows.t().reshape({1, rows.size(1), 1, rows.size(0)}).contiguous();
}

// The hand-worked example: K = 4 codes in 2-d, four inputs.
//   codes  e0 = (1, 0), e1 = (0, 1), e2 = (-1, 0), e3 = (1, -1)/sqrt2
//   inputs a = (.6, .8) -> e1, b = (.8, .6) -> e0, c = (-.6, -.8) -> e2, d = (.28, .96) -> e1; e3 unused
struct Example {
  torch::Tensor codes =
      torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.0f, float(M_SQRT1_2), float(-M_SQRT1_2)}).view({4, 2});
  torch::Tensor rows = torch::tensor({0.6f, 0.8f, 0.8f, 0.6f, -0.6f, -0.8f, 0.28f, 0.96f}).view({4, 2});
  torch::Tensor ids = torch::tensor({1, 0, 2, 1}, torch::kInt64);
};

EmaQuantizer example_ema(double decay, double eps, int64_t dead_steps = 0) {
  Example ex;
  QuantizerOptions o;
  o.dim = 2;
  o.codebook_size = 4;
  o.decay = decay;
  o.epsilon = eps;
  o.dead_code_steps = dead_steps;
  EmaQuantizer q(o);
  q->codebook().copy_(ex.codes);
  q->ema_sums().copy_(ex.codes);
  q->ema_counts().fill_(1.0);
  return q;
}

torch::Tensor normalized(std::vector<float> v) {
  auto t = torch::tensor(v).view({-1, 2});
  return t / t.norm(2, 1, true);
}

}  // namespace

TEST(Quantizer, NearestEqualsBruteForce) {
  torch::manual_seed(1);
  QuantizerOptions o;
  o.dim = 8;
  o.codebook_size = 16;
  for (const auto& kind : pat::model::quantizer_kinds()) {
    auto q = pat::model::make_quantizer(kind, o);
    q->eval();
    auto rows = unit_rows(50, 8);
    auto out = q->forward(as_map(rows));
    auto codes = q->codes();
    ASSERT_EQ(out.ids.sizes(), (std::vector<int64_t>{1, 1, 50}));
    auto ids = out.ids.flatten();
    for (int64_t n = 0; n < 50; ++n) {
      int64_t best = -1;
      float best_sim = -1e9f;
      for (int64_t k = 0; k < 16; ++k) {
        float sim = 0;
        for (int64_t c = 0; c < 8; ++c) sim += rows[n][c].item<float>() * codes[k][c].item<float>();
        if (sim > best_sim) best_sim = sim, best = k;
      }
      EXPECT_EQ(ids[n].item<int64_t>(), best) << kind << " row " << n;
    }
    // The quantized values are the selected codes.
    auto q_rows = out.quantized.permute({0, 2, 3, 1}).reshape({-1, 8});
    EXPECT_TENSOR_CLOSE(q_rows, codes.index_select(0, ids), 0, 1e-6);
  }
}

TEST(EmaQuantizer, OneStepUpdateMatchesHandComputation) {
  Example ex;
  auto q = example_ema(0.5, 0.5);
  q->train();
  auto out = q->forward(as_map(ex.rows));
  EXPECT_TRUE(torch::equal(out.ids.flatten(), ex.ids));
  // The output uses the codes from before the update.
  EXPECT_TENSOR_CLOSE(out.quantized.permute({0, 2, 3, 1}).reshape({4, 2}), ex.codes.index_select(0, ex.ids), 0, 1e-7);
  // n = [1, 2, 1, 0]; ema_counts = .5 * 1 + .5 * n
  EXPECT_TENSOR_CLOSE(q->ema_counts(), torch::tensor({1.0f, 1.5f, 1.0f, 0.5f}), 0, 1e-6);
  // s0 = b = (.8,.6); s1 = a + d = (.88, 1.76); s2 = c; s3 = 0; ema_sums = .5 * e + .5 * s
  auto sums = torch::tensor({0.9f, 0.3f, 0.44f, 1.38f, -0.8f, -0.4f, float(0.5 * M_SQRT1_2), float(-0.5 * M_SQRT1_2)})
                  .view({4, 2});
  EXPECT_TENSOR_CLOSE(q->ema_sums(), sums, 0, 1e-6);
  // total 4, eps .5: (c + .5) / (4 + 4 * .5) * 4 = [1, 4/3, 1, 2/3]
  EXPECT_TENSOR_CLOSE(q->smoothed_counts(), torch::tensor({1.0f, 4.0f / 3, 1.0f, 2.0f / 3}), 0, 1e-6);
  // codebook = normalize(sums / smoothed) = normalize(sums) (positive per-row divisor)
  EXPECT_TENSOR_CLOSE(q->codebook(), normalized({0.9f, 0.3f, 0.44f, 1.38f, -0.8f, -0.4f, 1.0f, -1.0f}), 0, 1e-6);
  EXPECT_TRUE(torch::equal(q->unused_steps(), torch::tensor({0, 0, 0, 1}, torch::kInt64)));
  // commitment: |a-e1|^2 = .4, |b-e0|^2 = .4, |c-e2|^2 = .8, |d-e1|^2 = .08 -> mean .42; EMA has no codebook loss
  EXPECT_NEAR(out.commitment_loss.item<double>(), 0.42, 1e-6);
  EXPECT_EQ(out.codebook_loss.item<double>(), 0.0);
  // p = [.25, .5, .25, 0]: entropy 1.5 ln 2 -> perplexity 2^1.5; 3 of 4 codes used
  EXPECT_NEAR(out.perplexity.item<double>(), std::pow(2.0, 1.5), 1e-5);
  EXPECT_NEAR(out.usage.item<double>(), 0.75, 1e-7);
}

TEST(EmaQuantizer, LaplaceSmoothing) {
  auto q = example_ema(0.99, 0.5);
  q->ema_counts().copy_(torch::tensor({0.0f, 3.0f, 1.0f, 0.0f}));
  // total 4: (c + .5) / (4 + 2) * 4 = [1/3, 7/3, 1, 1/3]; a zero count becomes positive, the total is kept
  auto smoothed = q->smoothed_counts();
  EXPECT_TENSOR_CLOSE(smoothed, torch::tensor({1.0f / 3, 7.0f / 3, 1.0f, 1.0f / 3}), 0, 1e-6);
  EXPECT_NEAR(smoothed.sum().item<double>(), 4.0, 1e-5);
}

TEST(EmaQuantizer, DeadCodeRestart) {
  Example ex;
  auto q = example_ema(0.5, 1e-5, /*dead_steps=*/2);
  q->train();
  q->forward(as_map(ex.rows));  // e3 unused once
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 1);
  auto before = q->codebook().clone();
  q->forward(as_map(ex.rows));  // unused twice -> re-seeded from one of the current inputs
  auto code = q->codebook()[3];
  bool from_input = false;
  for (int64_t n = 0; n < 4; ++n) from_input |= torch::allclose(code, ex.rows[n], 0, 1e-6);
  EXPECT_TRUE(from_input) << code;
  EXPECT_TENSOR_CLOSE(q->ema_sums()[3], code, 0, 1e-7);
  EXPECT_NEAR(q->ema_counts()[3].item<double>(), 1.0, 1e-7);
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 0);
  // The used codes were never restarted.
  EXPECT_TRUE(torch::equal(q->unused_steps().slice(0, 0, 3), torch::zeros({3}, torch::kInt64)));

  // Off with dead_code_steps = 0: the counter keeps growing, the code stays.
  auto off = example_ema(0.5, 1e-5, 0);
  off->train();
  for (int i = 0; i < 3; ++i) off->forward(as_map(ex.rows));
  EXPECT_EQ(off->unused_steps()[3].item<int64_t>(), 3);
  EXPECT_TENSOR_CLOSE(off->codebook()[3], normalized({1.0f, -1.0f})[0], 0, 1e-6);
}

TEST(EmaQuantizer, RestartSyncDecidesTheNewCodes) {
  Example ex;
  auto q = example_ema(0.5, 1e-5, 1);
  int calls = 0;
  q->set_restart_sync([&](torch::Tensor& chosen) {
    ++calls;
    EXPECT_EQ(chosen.sizes(), (std::vector<int64_t>{1, 2}));
    chosen = torch::tensor({0.0f, -1.0f}).view({1, 2});  // "rank 0's choice"
  });
  q->train();
  q->forward(as_map(ex.rows));
  EXPECT_EQ(calls, 1);
  EXPECT_TENSOR_CLOSE(q->codebook()[3], torch::tensor({0.0f, -1.0f}), 0, 0);
  q->set_restart_sync([](torch::Tensor& chosen) { chosen = torch::zeros({5}); });
  // Only e1 used: three dead codes, and the sync returns a bad shape.
  EXPECT_THROW(q->forward(as_map(ex.rows.slice(0, 0, 1))), pat::Error);
}

TEST(EmaQuantizer, RestartPoolSuppliesTheCandidates) {
  Example ex;
  auto q = example_ema(0.5, 1e-5, 1);
  // "Every rank's rows": here one row that is not among this process's inputs.
  const auto other = normalized({-1.0f, 2.0f});
  q->set_restart_pool([&](const torch::Tensor& rows) {
    EXPECT_EQ(rows.size(1), 2);
    return other;
  });
  q->train();
  q->forward(as_map(ex.rows));
  EXPECT_TENSOR_CLOSE(q->codebook()[3], other[0], 0, 1e-6);
  q->set_restart_pool([](const torch::Tensor&) { return torch::zeros({4, 3}); });
  EXPECT_THROW(q->forward(as_map(ex.rows.slice(0, 0, 1))), pat::Error);  // wrong width back
}

TEST(EmaQuantizer, StatsReducerIsCalledAndItsResultUsed) {
  Example ex;
  auto q = example_ema(0.5, 0.5);
  int calls = 0;
  q->set_stats_reducer([&](std::vector<torch::Tensor>& stats) {
    ++calls;
    ASSERT_EQ(stats.size(), 2u);
    EXPECT_TENSOR_CLOSE(stats[0], torch::tensor({1.0f, 2.0f, 1.0f, 0.0f}), 0, 0);
    EXPECT_TENSOR_CLOSE(stats[1], torch::tensor({0.8f, 0.6f, 0.88f, 1.76f, -0.6f, -0.8f, 0.0f, 0.0f}).view({4, 2}), 0,
                        1e-6);
    for (auto& t : stats) t = t * 2;  // as if a second rank saw the same batch
  });
  q->train();
  q->forward(as_map(ex.rows));
  EXPECT_EQ(calls, 1);
  // ema_counts = .5 * 1 + .5 * 2n = [1.5, 2.5, 1.5, .5]; ema_sums = .5 e + s; e.g. code 0: (.5 + .8, .6)
  EXPECT_TENSOR_CLOSE(q->ema_counts(), torch::tensor({1.5f, 2.5f, 1.5f, 0.5f}), 0, 1e-6);
  EXPECT_TENSOR_CLOSE(q->codebook(), normalized({1.3f, 0.6f, 0.88f, 2.26f, -1.1f, -0.8f, 1.0f, -1.0f}), 0, 1e-6);
  q->eval();
  q->forward(as_map(ex.rows));
  EXPECT_EQ(calls, 1);  // no update, no reduction in eval
  q->set_stats_reducer([](std::vector<torch::Tensor>& stats) { stats.pop_back(); });
  q->train();
  EXPECT_THROW(q->forward(as_map(ex.rows)), pat::Error);
}

TEST(EmaQuantizer, EvalModeLeavesBuffersUnchanged) {
  torch::manual_seed(3);
  QuantizerOptions o;
  o.dim = 4;
  o.codebook_size = 8;
  o.dead_code_steps = 1;
  EmaQuantizer q(o);
  q->eval();
  std::vector<torch::Tensor> before;
  for (const auto& b : q->buffers()) before.push_back(b.clone());
  for (int i = 0; i < 3; ++i) q->forward(as_map(unit_rows(10, 4)));
  auto after = q->buffers();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i], before[i])) << i;
}

TEST(EmaQuantizer, BuffersCheckpoint) {
  torch::manual_seed(4);
  QuantizerOptions o;
  o.dim = 4;
  o.codebook_size = 8;
  EmaQuantizer a(o);
  a->train();
  a->forward(as_map(unit_rows(20, 4)));
  std::vector<std::string> names;
  for (const auto& item : a->named_buffers()) names.push_back(item.key());
  EXPECT_EQ(names, (std::vector<std::string>{"unused_steps", "codebook", "ema_counts", "ema_sums"}));
  EXPECT_TRUE(a->parameters().empty());
  pat::test::TempDir dir;
  torch::save(a, dir.file("q.pt"));
  torch::manual_seed(5);
  EmaQuantizer b(o);
  torch::load(b, dir.file("q.pt"));
  EXPECT_TRUE(torch::equal(a->codebook(), b->codebook()));
  EXPECT_TRUE(torch::equal(a->ema_sums(), b->ema_sums()));
  EXPECT_TRUE(torch::equal(a->unused_steps(), b->unused_steps()));
}

TEST(Quantizer, StraightThroughGradient) {
  torch::manual_seed(6);
  QuantizerOptions o;
  o.dim = 6;
  o.codebook_size = 10;
  for (const auto& kind : pat::model::quantizer_kinds()) {
    auto q = pat::model::make_quantizer(kind, o);
    q->train();
    auto z = F::normalize(torch::randn({2, 6, 3, 4}), F::NormalizeFuncOptions().dim(1)).requires_grad_();
    auto w = torch::randn({2, 6, 3, 4});
    auto out = q->forward(z);
    (out.quantized * w).sum().backward();
    EXPECT_TENSOR_CLOSE(z.grad(), w, 0, 1e-6) << kind;
  }
}

TEST(LossQuantizer, LossesReachTheirOwnSides) {
  Example ex;
  QuantizerOptions o;
  o.dim = 2;
  o.codebook_size = 4;
  o.dead_code_steps = 0;
  LossQuantizer q(o);
  {
    torch::NoGradGuard g;
    q->codebook().copy_(ex.codes * 3);  // the codes used are the normalized rows
  }
  EXPECT_TENSOR_CLOSE(q->codes(), ex.codes, 0, 1e-6);
  auto z = as_map(ex.rows).requires_grad_();
  auto out = q->forward(z);
  EXPECT_TRUE(torch::equal(out.ids.flatten(), ex.ids));
  EXPECT_NEAR(out.commitment_loss.item<double>(), 0.42, 1e-6);  // same hand numbers as the EMA example
  EXPECT_NEAR(out.codebook_loss.item<double>(), 0.42, 1e-6);
  out.codebook_loss.backward({}, /*retain_graph=*/true);
  EXPECT_FALSE(z.grad().defined());
  auto g = q->codebook().grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(g.slice(0, 0, 3).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(g[3].abs().sum().item<double>(), 0.0);  // unused code
  q->codebook().mutable_grad().zero_();
  out.commitment_loss.backward();
  EXPECT_EQ(q->codebook().grad().abs().sum().item<double>(), 0.0);
  // d/dz mean ||z - sg(q)||^2 = 2 (z - q) / N
  auto expected = 2.0 * (ex.rows - ex.codes.index_select(0, ex.ids)) / 4.0;
  EXPECT_TENSOR_CLOSE(z.grad().view({2, 4}).t(), expected, 0, 1e-6);
}

TEST(LossQuantizer, DeadCodeRestartKeepsBackwardWorking) {
  Example ex;
  QuantizerOptions o;
  o.dim = 2;
  o.codebook_size = 4;
  o.dead_code_steps = 1;
  LossQuantizer q(o);
  {
    torch::NoGradGuard g;
    q->codebook().copy_(ex.codes);
  }
  int calls = 0;
  q->set_stats_reducer([&](std::vector<torch::Tensor>& stats) {
    ++calls;
    EXPECT_EQ(stats.size(), 1u);
  });
  q->train();
  auto out = q->forward(as_map(ex.rows));
  EXPECT_EQ(calls, 1);
  bool from_input = false;
  for (int64_t n = 0; n < 4; ++n) from_input |= torch::allclose(q->codebook()[3].detach(), ex.rows[n], 0, 1e-6);
  EXPECT_TRUE(from_input);
  EXPECT_NO_THROW(out.codebook_loss.backward());
}

TEST(Quantizer, FactoryAndOptionErrors) {
  QuantizerOptions o;
  o.dim = 4;
  o.codebook_size = 8;
  EXPECT_NE(dynamic_cast<EmaQuantizerImpl*>(pat::model::make_quantizer("ema", o).get()), nullptr);
  EXPECT_NE(dynamic_cast<pat::model::LossQuantizerImpl*>(pat::model::make_quantizer("loss", o).get()), nullptr);
  EXPECT_THROW(pat::model::make_quantizer("pq", o), pat::Error);
  auto bad = [&](auto edit) {
    auto b = o;
    edit(b);
    return b;
  };
  EXPECT_THROW(EmaQuantizer(bad([](auto& b) { b.codebook_size = 0; })), pat::Error);
  EXPECT_THROW(EmaQuantizer(bad([](auto& b) { b.dim = 0; })), pat::Error);
  EXPECT_THROW(EmaQuantizer(bad([](auto& b) { b.decay = 1.0; })), pat::Error);
  EXPECT_THROW(EmaQuantizer(bad([](auto& b) { b.epsilon = 0.0; })), pat::Error);
  EXPECT_THROW(LossQuantizer(bad([](auto& b) { b.dead_code_steps = -1; })), pat::Error);
  EmaQuantizer q(o);
  EXPECT_THROW(q->forward(torch::randn({1, 5, 2, 2})), pat::Error);
  EXPECT_THROW(q->forward(torch::randn({4, 2, 2})), pat::Error);
  EXPECT_THROW(q->decode(torch::full({1, 2, 2}, 8, torch::kInt64)), pat::Error);
  EXPECT_THROW(q->decode(torch::zeros({1, 2, 2}, torch::kInt32)), pat::Error);
  auto ids = torch::tensor({0, 7, 3, 1}, torch::kInt64).view({1, 2, 2});
  auto decoded = q->decode(ids);
  EXPECT_TENSOR_CLOSE(decoded.permute({0, 2, 3, 1}).reshape({4, 4}), q->codebook().index_select(0, ids.flatten()), 0,
                      0);
}

TEST(Quantizer, PerplexityAndUsageHelpers) {
  // counts [3, 1, 0, 0]: p = [.75, .25]; H = -(.75 ln .75 + .25 ln .25)
  auto counts = torch::tensor({3.0f, 1.0f, 0.0f, 0.0f});
  const double h = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  EXPECT_NEAR(pat::model::quantizer_perplexity(counts).item<double>(), std::exp(h), 1e-5);
  EXPECT_NEAR(pat::model::quantizer_usage(counts).item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(pat::model::quantizer_perplexity(torch::ones({8})).item<double>(), 8.0, 1e-4);
}
