// Codebook quantizers: nearest-code search (also under bf16 autocast), EMA math, dead-code restart per
// optimizer step without replacement, straight-through gradient, statistics, eval mode, distributed
// hooks, factory. Expected values are computed by hand in the comments (tiny K and d).
#include <cmath>
#include <set>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

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

EmaQuantizer example_ema(double decay, int64_t dead_steps = 0) {
  Example ex;
  QuantizerOptions o;
  o.dim = 2;
  o.codebook_size = 4;
  o.decay = decay;
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

/// CPU autocast to bfloat16 for a scope (what runtime.precision: bf16 does on CUDA).
class CpuBf16Autocast {
 public:
  CpuBf16Autocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCPU);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCPU);
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
#else
    previous_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
#endif
  }
  ~CpuBf16Autocast() {
    at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCPU, previous_);
    at::autocast::set_autocast_dtype(at::kCPU, previous_dtype_);
#else
    at::autocast::set_cpu_enabled(previous_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
#endif
  }

 private:
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

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

TEST(Quantizer, NearestCodeRunsInFloat32UnderBf16Autocast) {
  torch::manual_seed(7);
  auto codes = unit_rows(64, 16), rows = unit_rows(2000, 16);
  auto reference = rows.matmul(codes.t()).argmax(1);
  auto in_bf16 = rows.to(torch::kBFloat16).matmul(codes.to(torch::kBFloat16).t()).argmax(1);
  ASSERT_GT((reference != in_bf16).sum().item<int64_t>(), 0) << "the example must hold assignments bf16 flips";
  QuantizerOptions o;
  o.dim = 16;
  o.codebook_size = 64;
  EmaQuantizer q(o);
  q->codebook().copy_(codes);
  q->eval();
  {
    CpuBf16Autocast autocast;
    ASSERT_EQ(rows.matmul(codes.t()).scalar_type(), torch::kBFloat16);  // autocast is on for plain products
    EXPECT_TRUE(torch::equal(pat::model::quantizer_nearest(rows, codes), reference));
    EXPECT_TRUE(torch::equal(q->forward(as_map(rows)).ids.flatten(), reference));
  }
  // bf16 inputs: the search runs in float32 on the (rounded) input values.
  auto rounded = rows.to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(pat::model::quantizer_nearest(rounded, codes),
                           rounded.to(torch::kFloat32).matmul(codes.t()).argmax(1)));
}

TEST(EmaQuantizer, OneStepUpdateMatchesHandComputation) {
  Example ex;
  auto q = example_ema(0.5);
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
  // codebook = normalize(ema_sums)
  EXPECT_TENSOR_CLOSE(q->codebook(), normalized({0.9f, 0.3f, 0.44f, 1.38f, -0.8f, -0.4f, 1.0f, -1.0f}), 0, 1e-6);
  // Unused-step counters move at the end of the optimizer step, not in forward.
  EXPECT_TRUE(torch::equal(q->unused_steps(), torch::zeros({4}, torch::kInt64)));
  q->end_step();
  EXPECT_TRUE(torch::equal(q->unused_steps(), torch::tensor({0, 0, 0, 1}, torch::kInt64)));
  // commitment: |a-e1|^2 = .4, |b-e0|^2 = .4, |c-e2|^2 = .8, |d-e1|^2 = .08 -> mean .42; EMA has no codebook loss
  EXPECT_NEAR(out.commitment_loss.item<double>(), 0.42, 1e-6);
  EXPECT_EQ(out.codebook_loss.item<double>(), 0.0);
  // p = [.25, .5, .25, 0]: entropy 1.5 ln 2 -> perplexity 2^1.5; 3 of 4 codes used
  EXPECT_NEAR(out.perplexity.item<double>(), std::pow(2.0, 1.5), 1e-5);
  EXPECT_NEAR(out.usage.item<double>(), 0.75, 1e-7);
}

TEST(EmaQuantizer, CountsDoNotChangeTheCodes) {
  // No Laplace smoothing (it could only rescale each code before the L2 normalization): the codes are
  // normalize(ema_sums) whatever the counts, zero counts included.
  Example ex;
  auto a = example_ema(0.5), b = example_ema(0.5);
  b->ema_counts().copy_(torch::tensor({0.0f, 1e-30f, 7.0f, 0.0f}));
  a->train();
  b->train();
  a->forward(as_map(ex.rows));
  b->forward(as_map(ex.rows));
  EXPECT_TENSOR_CLOSE(b->ema_counts(), torch::tensor({0.5f, 1.0f, 4.0f, 0.0f}), 0, 1e-6);
  EXPECT_TRUE(torch::equal(a->codebook(), b->codebook()));
  EXPECT_TENSOR_CLOSE(b->codebook(), normalized({0.9f, 0.3f, 0.44f, 1.38f, -0.8f, -0.4f, 1.0f, -1.0f}), 0, 1e-6);
}

TEST(EmaQuantizer, DeadCodesCountOptimizerStepsNotForwards) {
  Example ex;
  auto q = example_ema(0.5, /*dead_steps=*/2);
  q->train();
  const auto e3 = q->codebook()[3].clone();
  // Three micro-batches of one optimizer step: e3 unused in all, but that is ONE step.
  for (int i = 0; i < 3; ++i) q->forward(as_map(ex.rows));
  EXPECT_TRUE(torch::equal(q->unused_steps(), torch::zeros({4}, torch::kInt64)));
  q->end_step();
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 1);
  EXPECT_TENSOR_CLOSE(q->codebook()[3], e3, 0, 1e-6);  // not restarted yet
  // A code selected by any micro-batch of the step counts as used.
  q->forward(as_map(normalized({1.0f, -1.0f})));  // -> e3
  q->forward(as_map(ex.rows));
  q->end_step();
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 0);
  // No training forward since the last step: end_step does nothing.
  q->end_step();
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 0);
}

TEST(EmaQuantizer, DeadCodeRestart) {
  Example ex;
  auto q = example_ema(0.5, /*dead_steps=*/2);
  q->train();
  q->forward(as_map(ex.rows));  // e3 unused once
  q->end_step();
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 1);
  q->forward(as_map(ex.rows));  // unused twice -> re-seeded from one of the current inputs
  q->end_step();
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
  auto off = example_ema(0.5, 0);
  off->train();
  for (int i = 0; i < 3; ++i) {
    off->forward(as_map(ex.rows));
    off->end_step();
  }
  EXPECT_EQ(off->unused_steps()[3].item<int64_t>(), 3);
  EXPECT_TENSOR_CLOSE(off->codebook()[3], normalized({1.0f, -1.0f})[0], 0, 1e-6);
}

TEST(EmaQuantizer, RestartDrawsWithoutReplacement) {
  // Only e1 is used, so e0, e2, e3 die every step; the pool offers exactly three distinct rows, which
  // must go to three different codes (drawing with replacement repeats one in 21 of 27 draws).
  Example ex;
  const auto pool = normalized({1.0f, 2.0f, -2.0f, 1.0f, 0.0f, -1.0f});
  for (int trial = 0; trial < 10; ++trial) {
    auto q = example_ema(0.5, /*dead_steps=*/1);
    q->set_restart_pool([&](const torch::Tensor&) { return pool; });
    q->train();
    q->forward(as_map(ex.rows.slice(0, 0, 1)));
    q->end_step();
    std::set<int64_t> used;
    for (int64_t k : {0, 2, 3})
      for (int64_t n = 0; n < 3; ++n)
        if (torch::allclose(q->codebook()[k], pool[n], 0, 1e-6)) used.insert(n);
    EXPECT_EQ(used.size(), 3u) << "trial " << trial << ": " << q->codebook();
  }
  // More dead codes than candidates: the longest-unused dead codes get them (lowest index among equals),
  // the rest stay dead (their counters are not reset) and come first at the next step. (These two
  // candidates are far from the input, which keeps choosing e1.)
  auto q = example_ema(0.5, /*dead_steps=*/1);
  q->set_restart_pool([&](const torch::Tensor&) { return pool.slice(0, 1, 3); });
  q->train();
  const auto e3 = q->codebook()[3].clone();
  q->forward(as_map(ex.rows.slice(0, 0, 1)));
  q->end_step();
  EXPECT_TRUE(torch::equal(q->unused_steps(), torch::tensor({0, 0, 0, 1}, torch::kInt64)));
  EXPECT_TENSOR_CLOSE(q->codebook()[3], e3, 0, 1e-6);
  EXPECT_FALSE(torch::allclose(q->codebook()[0], q->codebook()[2], 0, 1e-6));
  q->forward(as_map(ex.rows.slice(0, 0, 1)));
  q->end_step();
  EXPECT_EQ(q->unused_steps()[3].item<int64_t>(), 0);
  EXPECT_FALSE(torch::allclose(q->codebook()[3], e3, 0, 1e-6));
}

TEST(EmaQuantizer, RestartSyncDecidesTheNewCodes) {
  Example ex;
  auto q = example_ema(0.5, 1);
  int calls = 0;
  q->set_restart_sync([&](torch::Tensor& chosen) {
    ++calls;
    EXPECT_EQ(chosen.sizes(), (std::vector<int64_t>{1, 2}));
    chosen = torch::tensor({0.0f, -1.0f}).view({1, 2});  // "rank 0's choice"
  });
  q->train();
  q->forward(as_map(ex.rows));
  q->end_step();
  EXPECT_EQ(calls, 1);
  EXPECT_TENSOR_CLOSE(q->codebook()[3], torch::tensor({0.0f, -1.0f}), 0, 0);
  q->set_restart_sync([](torch::Tensor& chosen) { chosen = torch::zeros({5}); });
  // Only e1 used: three dead codes, and the sync returns a bad shape.
  q->forward(as_map(ex.rows.slice(0, 0, 1)));
  EXPECT_THROW(q->end_step(), pat::Error);
}

TEST(EmaQuantizer, RestartPoolSuppliesTheCandidates) {
  Example ex;
  auto q = example_ema(0.5, 1);
  // "Every rank's rows": here one row that is not among this process's inputs.
  const auto other = normalized({-1.0f, 2.0f});
  q->set_restart_pool([&](const torch::Tensor& rows) {
    EXPECT_EQ(rows.size(1), 2);
    return other;
  });
  q->train();
  q->forward(as_map(ex.rows));
  q->end_step();
  EXPECT_TENSOR_CLOSE(q->codebook()[3], other[0], 0, 1e-6);
  q->set_restart_pool([](const torch::Tensor&) { return torch::zeros({4, 3}); });
  q->forward(as_map(ex.rows.slice(0, 0, 1)));
  EXPECT_THROW(q->end_step(), pat::Error);  // wrong width back
}

TEST(EmaQuantizer, StatsReducerIsCalledAndItsResultUsed) {
  Example ex;
  auto q = example_ema(0.5);
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
  for (int i = 0; i < 3; ++i) {
    q->forward(as_map(unit_rows(10, 4)));
    q->end_step();
  }
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
  q->end_step();  // even before backward (the trainer calls it after the optimizer step)
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
