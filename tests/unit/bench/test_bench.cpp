// The benchmark helpers: FLOP counting and scope attribution of the operator profiler, timing and
// memory measurements.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/engine/bench/measure.h"
#include "pat/engine/bench/op_profiler.h"
#include "pat/model/catseg/fast_paths.h"

using namespace pat::engine;
namespace F = torch::nn::functional;

namespace {

const ProfileStat* find(const std::vector<ProfileStat>& stats, const std::string& name) {
  for (const auto& s : stats)
    if (s.name == name) return &s;
  return nullptr;
}

double counted_gflop(const std::function<void()>& fn) {
  OpProfiler profiler;
  profiler.start();
  fn();
  return profiler.stop().gflop;
}

}  // namespace

TEST(OpProfiler, CountsMatrixProductsOnce) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 6, 8}), w = torch::randn({16, 8}), b = torch::randn({16});
  // A 3-d linear is a matmul / addmm inside: counted once, 2 * (4*6) * 8 * 16.
  EXPECT_DOUBLE_EQ(counted_gflop([&] { F::linear(x, w, b); }) * 1e9, 2.0 * 24 * 8 * 16);
  EXPECT_DOUBLE_EQ(counted_gflop([&] { torch::mm(w, w.t()); }) * 1e9, 2.0 * 16 * 8 * 16);
  auto q = torch::randn({3, 2, 5, 4});
  EXPECT_DOUBLE_EQ(counted_gflop([&] { torch::matmul(q, q.transpose(-2, -1)); }) * 1e9, 2.0 * 6 * 5 * 4 * 5);
  EXPECT_DOUBLE_EQ(counted_gflop([&] { torch::relu(x); }), 0.0);
  // The head's per-matrix products (BLAS called directly, or one aten::mm per matrix) count as one product.
  for (bool fused : {true, false}) {
    pat::model::CatSegFastPaths paths;
    paths.fused_attention = fused;
    pat::model::ScopedCatSegFastPaths scoped(paths);
    EXPECT_DOUBLE_EQ(counted_gflop([&] { pat::model::catseg_bmm(q, q.transpose(-2, -1)); }) * 1e9, 2.0 * 6 * 5 * 4 * 5);
  }
  // The head's split linear layers: one product of 2 * rows * in * out.
  EXPECT_DOUBLE_EQ(counted_gflop([&] { pat::model::catseg_linear(x, w, b); }) * 1e9, 2.0 * 24 * 8 * 16);
  // Fused window attention: its two products (scores and output), the softmax between them not counted.
  auto out = torch::empty_like(q);
  EXPECT_DOUBLE_EQ(counted_gflop([&] {
                     ASSERT_TRUE(pat::model::catseg_fused_window_attention(q, q, q, torch::Tensor(), out));
                   }) * 1e9,
                   2 * 2.0 * 6 * 5 * 4 * 5);
}

TEST(OpProfiler, CountsConvolutions) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 10, 12});
  auto w = torch::randn({5, 3, 3, 3});
  // Stride 2, padding 1: output 5 x 6 positions, each 5 * 27 multiply-adds, per image.
  EXPECT_DOUBLE_EQ(counted_gflop([&] { F::conv2d(x, w, F::Conv2dFuncOptions().stride(2).padding(1)); }) * 1e9,
                   2.0 * 2 * 5 * 6 * 5 * 27);
  // The head's 3x3 convolution to one channel counts the same through its fast path as through LibTorch.
  auto w1 = torch::randn({1, 3, 3, 3});
  const double head = 2.0 * 2 * 10 * 12 * 27;
  EXPECT_DOUBLE_EQ(counted_gflop([&] { F::conv2d(x, w1, F::Conv2dFuncOptions().padding(1)); }) * 1e9, head);
  EXPECT_DOUBLE_EQ(counted_gflop([&] { pat::model::catseg_head_conv(x, w1, torch::Tensor()); }) * 1e9, head);
  // Transposed k2 s2 [3 -> 4]: every input position meets every weight once.
  auto wt = torch::randn({3, 4, 2, 2});
  EXPECT_DOUBLE_EQ(counted_gflop([&] { F::conv_transpose2d(x, wt, F::ConvTranspose2dFuncOptions().stride(2)); }) * 1e9,
                   2.0 * 2 * 10 * 12 * 3 * 4 * 4);
}

TEST(OpProfiler, CountsBackwardProducts) {
  auto x = torch::randn({2, 3, 8, 8}, torch::requires_grad());
  auto w = torch::randn({4, 3, 3, 3}, torch::requires_grad());
  const double forward = 2.0 * 2 * 8 * 8 * 4 * 27;
  OpProfiler profiler;
  profiler.start();
  auto y = F::conv2d(x, w, F::Conv2dFuncOptions().padding(1));
  y.sum().backward();
  auto report = profiler.stop();
  // Forward, then the input and weight gradients (one forward's worth each).
  EXPECT_DOUBLE_EQ(report.gflop * 1e9, 3 * forward);
}

TEST(OpProfiler, AttributesTimeAndFlopsToTheInnermostScope) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({32, 32});
  OpProfiler profiler;
  profiler.start();
  {
    PAT_PROFILE_SCOPE("test.outer");
    torch::mm(a, a);
    {
      PAT_PROFILE_SCOPE("test.inner");
      torch::mm(a, a);
      torch::mm(a, a);
    }
  }
  torch::mm(a, a);
  auto report = profiler.stop();
  const double one = 2.0 * 32 * 32 * 32 * 1e-9;
  const auto* outer = find(report.scopes, "test.outer");
  const auto* inner = find(report.scopes, "test.inner");
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(outer->calls, 1);
  EXPECT_DOUBLE_EQ(outer->gflop, one);
  EXPECT_DOUBLE_EQ(inner->gflop, 2 * one);
  EXPECT_DOUBLE_EQ(report.gflop, 4 * one);
  EXPECT_LE(outer->self_ms, outer->total_ms);
  EXPECT_GE(outer->total_ms, inner->total_ms);
  const auto* mm = find(report.ops, "aten::mm");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->calls, 4);
  EXPECT_NE(format_op_table(report, 3).find("aten::mm"), std::string::npos);
  EXPECT_NE(format_scope_table(report).find("test.inner"), std::string::npos);
}

TEST(OpProfiler, OneAtATimeAndStoppedOnDestruction) {
  {
    OpProfiler first;
    first.start();
    OpProfiler second;
    EXPECT_THROW(second.start(), pat::Error);
  }
  OpProfiler again;  // the destroyed one released the process-wide slot
  again.start();
  EXPECT_NO_THROW(again.stop());
  EXPECT_THROW(again.stop(), pat::Error);
}

TEST(Measure, InterleavedPairsAlternate) {
  std::string order;
  const auto [a, b] = time_interleaved([&] { order += 'a'; },
                                       [&] {
                                         order += 'b';
                                         std::this_thread::sleep_for(std::chrono::milliseconds(2));
                                       },
                                       1, 3);
  EXPECT_EQ(order, "abababab");
  ASSERT_EQ(a.ms.size(), 3u);
  ASSERT_EQ(b.ms.size(), 3u);
  EXPECT_GE(b.min_ms, 2.0);
  EXPECT_LT(a.median_ms, b.median_ms);
  EXPECT_THROW(time_interleaved([] {}, [] {}, 0, 0), pat::Error);
}

TEST(Measure, MedianAndRepeats) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
  int calls = 0;
  auto stats = time_repeated([&] { ++calls; }, 2, 3);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(stats.ms.size(), 3u);
  EXPECT_LE(stats.min_ms, stats.median_ms);
  EXPECT_LE(stats.median_ms, stats.max_ms);
  EXPECT_THROW(time_repeated([] {}, 0, 0), pat::Error);
}

TEST(Measure, ResidentMemoryAndItsPeak) {
  const double before = current_rss_mib();
  ASSERT_GT(before, 0);
  if (!reset_peak_rss()) GTEST_SKIP() << "/proc/self/clear_refs not writable";
  {
    auto big = torch::ones({64, 1024, 1024});  // 256 MiB, touched
    EXPECT_GT(peak_rss_mib(), before + 200);
  }
  reset_peak_rss();
  EXPECT_LT(peak_rss_mib(), before + 200);
  EXPECT_GE(peak_rss_mib(), current_rss_mib() - 1);
}

TEST(Measure, SgemmRateIsPositive) {
  EXPECT_GT(sgemm_gflops(64, 3), 0);
}
