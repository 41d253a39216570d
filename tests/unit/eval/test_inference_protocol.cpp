#include <cmath>
#include <limits>

#include "pat/core/error.h"
#include "pat/core/npy.h"
#include "pat/engine/eval/inference_protocol.h"
#include "test_support.h"

namespace {

using pat::engine::LogitsFn;
using pat::engine::SlidingWindowOptions;
using pat::engine::WholeImageOptions;

SlidingWindowOptions small_options() {
  SlidingWindowOptions o;
  o.kernel = 48;
  o.out_res = 80;  // stride int(48 * 0.667) = 32: the same 2x2 pattern as 384/640
  return o;
}

/// A logits function returning fixed logits, counting calls and keeping the views it saw.
struct FixedLogits {
  torch::Tensor logits;
  int calls = 0;
  torch::Tensor views;
  LogitsFn fn() {
    return [this](const torch::Tensor& v) {
      ++calls;
      views = v.clone();
      return logits;
    };
  }
};

TEST(SlidingWindow, DefaultTilesAreTwoByTwoRowMajor) {
  SlidingWindowOptions o;
  EXPECT_EQ(pat::engine::sliding_window_stride(o), 256);
  auto tiles = pat::engine::sliding_window_tiles(o);
  ASSERT_EQ(tiles.size(), 4u);
  const int64_t expected[4][2] = {{0, 0}, {0, 256}, {256, 0}, {256, 256}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(tiles[i].y, expected[i][0]);
    EXPECT_EQ(tiles[i].x, expected[i][1]);
  }
}

TEST(SlidingWindow, OverlapCountIsOneTwoFourPattern) {
  auto count = pat::engine::sliding_window_overlap_count({});
  ASSERT_EQ(count.sizes(), (torch::IntArrayRef{640, 640}));
  auto axis = torch::ones({640});
  axis.slice(0, 256, 384).fill_(2);  // covered by both tiles along this axis
  auto expected = axis.view({640, 1}) * axis.view({1, 640});
  EXPECT_TRUE(torch::equal(count, expected));
  EXPECT_EQ(count[0][0].item<float>(), 1);
  EXPECT_EQ(count[300][0].item<float>(), 2);
  EXPECT_EQ(count[0][300].item<float>(), 2);
  EXPECT_EQ(count[300][300].item<float>(), 4);
  EXPECT_EQ(count[639][639].item<float>(), 1);
}

TEST(SlidingWindow, RemainderGetsABorderTile) {
  SlidingWindowOptions o;
  o.kernel = 100;
  o.overlap = 0.25;  // stride 75: 0, 75, 150 leave 250..259 uncovered
  o.out_res = 260;
  auto tiles = pat::engine::sliding_window_tiles(o);
  ASSERT_EQ(tiles.size(), 16u);
  EXPECT_EQ(tiles.back().y, 160);
  EXPECT_EQ(tiles.back().x, 160);
  EXPECT_GE(pat::engine::sliding_window_overlap_count(o).min().item<float>(), 1.0f);
}

TEST(SlidingWindow, OptionErrors) {
  SlidingWindowOptions o;
  o.out_res = 300;  // smaller than the kernel
  EXPECT_THROW(pat::engine::sliding_window_tiles(o), pat::Error);
  o = {};
  o.overlap = 1.0;
  EXPECT_THROW(pat::engine::sliding_window_stride(o), pat::Error);
  o = {};
  o.kernel = 0;
  EXPECT_THROW(pat::engine::sliding_window_stride(o), pat::Error);
  o = {};
  o.class_chunk = -1;
  FixedLogits model{torch::zeros({5, 2, 4, 4})};
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), model.fn(), o), pat::Error);
}

TEST(SlidingWindow, InputErrors) {
  FixedLogits good{torch::zeros({5, 2, 12, 12})};
  const auto o = small_options();
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({20, 20}), good.fn(), o), pat::Error);
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({4, 20, 20}), good.fn(), o), pat::Error);
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), good.fn(), o, {5}), pat::Error);
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), LogitsFn(), o), pat::Error);
  FixedLogits wrong_views{torch::zeros({4, 2, 12, 12})};
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), wrong_views.fn(), o), pat::Error);
  FixedLogits wrong_dim{torch::zeros({5, 2, 12})};
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), wrong_dim.fn(), o), pat::Error);
  FixedLogits integer{torch::zeros({5, 2, 12, 12}, torch::kInt64)};
  EXPECT_THROW(pat::engine::predict_sliding_window(torch::zeros({3, 20, 20}), integer.fn(), o), pat::Error);
  EXPECT_THROW(pat::engine::sliding_window_fold(torch::zeros({4, 2, 48, 48}), o), pat::Error);
}

// The views, probabilities and argmax against an independent nn.Unfold/nn.Fold implementation.
TEST(SlidingWindow, MatchesPythonReference) {
  auto image = pat::read_npy(pat::test::data_path("eval/sliding_image.npy"));  // [3, 50, 70] uint8
  FixedLogits model{pat::read_npy(pat::test::data_path("eval/sliding_logits.npy"))};
  const auto o = small_options();
  auto probs = pat::engine::sliding_window_probabilities(image, model.fn(), o, {45, 66});
  EXPECT_EQ(model.calls, 1);
  EXPECT_TENSOR_CLOSE(model.views, pat::read_npy(pat::test::data_path("eval/sliding_views.npy")), 1e-5, 1e-3);
  EXPECT_TRUE(torch::equal(pat::engine::sliding_window_overlap_count(o),
                           pat::read_npy(pat::test::data_path("eval/sliding_count.npy"))));
  auto golden = pat::read_npy(pat::test::data_path("eval/sliding_probs.npy"));  // [3, 45, 66]
  EXPECT_TENSOR_CLOSE(probs, golden, 1e-5, 1e-6);

  auto pred = pat::engine::predict_sliding_window(image, model.fn(), o, {45, 66});
  EXPECT_EQ(model.calls, 2);
  ASSERT_EQ(pred.labels.sizes(), (torch::IntArrayRef{45, 66}));
  EXPECT_EQ(pred.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(pred.labels, golden.argmax(0)));
  EXPECT_TENSOR_CLOSE(pred.max_prob, std::get<0>(golden.max(0)), 1e-5, 1e-6);
}

// A logits function reading its views' content (which encodes the position) must be folded back
// to the same function of position: each pixel averages identical values from every tile covering it.
TEST(SlidingWindow, FoldReproducesFunctionOfPosition) {
  auto ys = torch::arange(640, torch::kFloat32).view({640, 1}).expand({640, 640});
  auto xs = torch::arange(640, torch::kFloat32).view({1, 640}).expand({640, 640});
  auto image = torch::stack({xs * 0.4, ys * 0.4, torch::zeros({640, 640})});  // warp 640 -> 640 is exact
  auto position_prob = [](const torch::Tensor& x, const torch::Tensor& y) {
    return 0.05 + 0.9 * (x + y) / (2 * 639.0);
  };
  int calls = 0;
  LogitsFn fn = [&](const torch::Tensor& views) {
    ++calls;
    EXPECT_EQ(views.sizes(), (torch::IntArrayRef{5, 3, 384, 384}));
    auto p = position_prob(views.select(1, 0) / 0.4, views.select(1, 1) / 0.4);  // [5, 384, 384]
    p[4].fill_(0.5);  // the global view: 0.5 for both classes
    auto logit = torch::log(p / (1 - p));
    return torch::stack({logit, -logit}, 1);  // class 1 has probability 1 - p
  };
  auto probs = pat::engine::sliding_window_probabilities(image, fn);
  auto p = position_prob(xs, ys);
  EXPECT_TENSOR_CLOSE(probs[0], (p + 0.5) / 2, 1e-5, 2e-6);
  EXPECT_TENSOR_CLOSE(probs[1], (1 - p + 0.5) / 2, 1e-5, 2e-6);

  auto pred = pat::engine::predict_sliding_window(image, fn);
  EXPECT_EQ(calls, 2);
  auto clear = (p - 0.5).abs() > 1e-3;
  auto expected = (p < 0.5).to(torch::kInt64);
  EXPECT_TRUE(torch::equal(pred.labels.masked_select(clear), expected.masked_select(clear)));
  EXPECT_TENSOR_CLOSE(pred.max_prob, torch::max(p, 1 - p).add(0.5).div(2), 1e-5, 2e-6);
}

TEST(SlidingWindow, FoldOfConstantTiles) {
  // Tile i filled with (i + 1) / 10, global view 0.5: the 1/2/4 overlap regions average their tiles.
  const auto o = small_options();
  auto probs = torch::empty({5, 1, 48, 48});
  for (int i = 0; i < 5; ++i) probs[i].fill_(i < 4 ? (i + 1) / 10.0 : 0.5);
  auto folded = pat::engine::sliding_window_fold(probs, o);  // [1, 80, 80]
  ASSERT_EQ(folded.sizes(), (torch::IntArrayRef{1, 80, 80}));
  auto at = [&](int y, int x) { return folded[0][y][x].item<float>(); };
  EXPECT_NEAR(at(0, 0), (0.1 + 0.5) / 2, 1e-6);               // tile 0 only
  EXPECT_NEAR(at(0, 79), (0.2 + 0.5) / 2, 1e-6);              // tile 1 only
  EXPECT_NEAR(at(79, 0), (0.3 + 0.5) / 2, 1e-6);              // tile 2 only
  EXPECT_NEAR(at(79, 79), (0.4 + 0.5) / 2, 1e-6);             // tile 3 only
  EXPECT_NEAR(at(0, 40), ((0.1 + 0.2) / 2 + 0.5) / 2, 1e-6);  // tiles 0, 1
  EXPECT_NEAR(at(40, 0), ((0.1 + 0.3) / 2 + 0.5) / 2, 1e-6);  // tiles 0, 2
  EXPECT_NEAR(at(40, 40), ((0.1 + 0.2 + 0.3 + 0.4) / 4 + 0.5) / 2, 1e-6);
}

void expect_chunking_exact(const torch::Tensor& image, const torch::Tensor& logits, const SlidingWindowOptions& base,
                           const std::vector<int64_t>& chunks, torch::IntArrayRef output_size) {
  FixedLogits model{logits};
  auto reference = pat::engine::predict_sliding_window(image, model.fn(), base, output_size);  // unchunked
  EXPECT_EQ(model.calls, 1);
  for (int64_t chunk : chunks) {
    auto o = base;
    o.class_chunk = chunk;
    model.calls = 0;
    auto pred = pat::engine::predict_sliding_window(image, model.fn(), o, output_size);
    EXPECT_EQ(model.calls, 1) << "chunk " << chunk;
    EXPECT_TRUE(torch::equal(pred.labels, reference.labels)) << "chunk " << chunk;
    EXPECT_TRUE(torch::equal(pred.max_prob, reference.max_prob)) << "chunk " << chunk;
  }
}

TEST(SlidingWindow, ChunkedEqualsUnchunkedT13) {
  torch::manual_seed(13);
  auto image = torch::rand({3, 60, 90}) * 255;
  auto logits = torch::randn({5, 13, 96, 96}) * 4;
  expect_chunking_exact(image, logits, {}, {1, 2, 4, 5, 12, 13, 100}, {});
  // Automatic chunking: the [5, 13, 384, 384] tensor (38 MB) exceeds a 1 MB budget.
  SlidingWindowOptions tight;
  tight.memory_budget_mb = 1;
  EXPECT_EQ(pat::engine::resolve_class_chunk(13, 0, 1, 5 * 13 * 384 * 384 * 4, 6000000), 1);
  FixedLogits model{logits};
  auto a = pat::engine::predict_sliding_window(image, model.fn(), {});
  auto b = pat::engine::predict_sliding_window(image, model.fn(), tight);
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_TRUE(torch::equal(a.max_prob, b.max_prob));
}

TEST(SlidingWindow, ChunkedEqualsUnchunkedT300) {
  torch::manual_seed(300);
  auto image = torch::rand({3, 37, 53}) * 255;
  auto logits = torch::randn({5, 300, 12, 12}) * 4;
  expect_chunking_exact(image, logits, small_options(), {1, 7, 64, 256, 299}, {41, 29});
}

TEST(SlidingWindow, ChunkedEqualsUnchunkedWithThreeThreads) {
  // Uneven thread ranges put vectorized and scalar code on different elements per chunk size.
  const int threads = at::get_num_threads();
  at::set_num_threads(3);
  torch::manual_seed(3);
  auto image = torch::rand({3, 37, 53}) * 255;
  auto logits = torch::randn({5, 29, 12, 12}) * 4;
  expect_chunking_exact(image, logits, small_options(), {1, 3, 10, 28}, {43, 31});
  at::set_num_threads(threads);
}

TEST(SlidingWindow, EachClassIsIndependentOfTheOthers) {
  torch::manual_seed(4);
  auto image = torch::rand({3, 30, 41}) * 255;
  auto logits = torch::randn({5, 6, 12, 12}) * 4;
  FixedLogits all{logits};
  auto full = pat::engine::sliding_window_probabilities(image, all.fn(), small_options());
  for (int64_t t = 0; t < 6; ++t) {
    FixedLogits one{logits.slice(1, t, t + 1).contiguous()};
    auto single = pat::engine::sliding_window_probabilities(image, one.fn(), small_options());
    EXPECT_TRUE(torch::equal(single[0], full[t])) << "class " << t;
  }
}

TEST(SlidingWindow, TiesGoToTheFirstClassWhateverTheChunks) {
  torch::manual_seed(5);
  auto logits = torch::randn({5, 6, 12, 12});
  logits.select(1, 2).copy_(logits.select(1, 0).abs() + 50);  // classes 2 and 4: equal and largest
  logits.select(1, 4).copy_(logits.select(1, 2));
  auto image = torch::rand({3, 30, 30}) * 255;
  for (int64_t chunk : {1, 3, 4, 6}) {
    auto o = small_options();
    o.class_chunk = chunk;
    FixedLogits model{logits};
    auto pred = pat::engine::predict_sliding_window(image, model.fn(), o);
    EXPECT_TRUE(pred.labels.eq(2).all().item<bool>()) << "chunk " << chunk;
  }
}

// CAT-Seg's pruned classes (-100 in the views that did not select them) are skipped where they vanish:
// the prediction equals the one where the same planes are evaluated (one pixel at -89.5 keeps a plane
// from being skipped; its probabilities are still exactly 0), bitwise, for any chunking.
TEST(SlidingWindow, VanishingPlanesAreSkippedExactly) {
  torch::manual_seed(21);
  const int64_t v = 5, t = 20;
  auto logits = torch::randn({v, t, 12, 12}) * 4;
  auto pruned = torch::rand({v, t}) < 0.6;
  pruned.select(1, 3).fill_(true);  // class 3: pruned in every view
  pruned.select(1, 7).fill_(true);
  auto sparse = logits.clone(), dense = logits.clone();
  for (int64_t i = 0; i < v; ++i)
    for (int64_t c = 0; c < t; ++c)
      if (pruned[i][c].item<bool>()) {
        sparse[i][c].fill_(-100);
        dense[i][c].fill_(-100);
        dense[i][c][0][0] = -89.5;
      }
  auto image = torch::rand({3, 50, 70}) * 255;
  FixedLogits a{sparse}, b{dense};
  for (int64_t chunk : {0, 1, 3, 20}) {
    auto o = small_options();
    o.class_chunk = chunk;
    auto skipped = pat::engine::predict_sliding_window(image, a.fn(), o);
    auto evaluated = pat::engine::predict_sliding_window(image, b.fn(), o);
    EXPECT_TRUE(torch::equal(skipped.labels, evaluated.labels)) << "chunk " << chunk;
    EXPECT_TRUE(torch::equal(skipped.max_prob, evaluated.max_prob)) << "chunk " << chunk;
  }
  auto probs_skipped = pat::engine::sliding_window_probabilities(image, a.fn(), small_options());
  auto probs_evaluated = pat::engine::sliding_window_probabilities(image, b.fn(), small_options());
  EXPECT_TRUE(torch::equal(probs_skipped, probs_evaluated));
  EXPECT_TRUE(probs_skipped[3].eq(0).all().item<bool>());
}

// Where every class's probability is 0 the first class wins, as a single argmax over the whole vocabulary
// would have it, even when that class vanished in every view (and was skipped).
TEST(SlidingWindow, PixelsWithoutProbabilityGoToTheFirstClass) {
  auto logits = torch::full({5, 3, 12, 12}, -100.0);
  logits.select(1, 2).slice(-1, 0, 6).fill_(5.0);  // class 2: the left half only, -95 on the right
  logits.select(1, 2).slice(-1, 6, 12).fill_(-95.0);
  auto image = torch::rand({3, 40, 40}) * 255;
  FixedLogits model{logits};
  auto pred = pat::engine::predict_sliding_window(image, model.fn(), small_options());
  EXPECT_TRUE(pred.labels.slice(1, 0, 10).eq(2).all().item<bool>());
  EXPECT_TRUE(pred.labels.slice(1, 30, 40).eq(0).all().item<bool>());
  EXPECT_TRUE(pred.max_prob.slice(1, 30, 40).eq(0).all().item<bool>());
  FixedLogits nothing{torch::full({5, 4, 12, 12}, -100.0)};
  auto none = pat::engine::predict_sliding_window(image, nothing.fn(), small_options());
  EXPECT_TRUE(none.labels.eq(0).all().item<bool>());
  EXPECT_TRUE(none.max_prob.eq(0).all().item<bool>());
}

// A NaN probability wins its pixel, the first NaN class first, whatever the chunks (as one argmax over
// the whole vocabulary has it).
TEST(SlidingWindow, FirstNanClassWinsWhateverTheChunks) {
  torch::manual_seed(8);
  auto logits = torch::randn({5, 4, 12, 12});
  logits.select(1, 1).fill_(std::numeric_limits<float>::quiet_NaN());
  logits.select(1, 3).fill_(std::numeric_limits<float>::quiet_NaN());
  auto image = torch::rand({3, 30, 30}) * 255;
  for (int64_t chunk : {0, 1, 2, 3}) {
    auto o = small_options();
    o.class_chunk = chunk;
    FixedLogits model{logits};
    auto pred = pat::engine::predict_sliding_window(image, model.fn(), o);
    EXPECT_TRUE(pred.labels.eq(1).all().item<bool>()) << "chunk " << chunk;
    EXPECT_TRUE(pred.max_prob.isnan().all().item<bool>()) << "chunk " << chunk;
  }
}

TEST(SlidingWindow, ResolveClassChunk) {
  using pat::engine::resolve_class_chunk;
  EXPECT_EQ(resolve_class_chunk(847, 64, 1024, 0, 1), 64);
  EXPECT_EQ(resolve_class_chunk(10, 64, 1024, 0, 1), 10);
  EXPECT_EQ(resolve_class_chunk(847, 0, 1024, 1024LL * 1024 * 1024, 1), 847);                    // fits
  EXPECT_EQ(resolve_class_chunk(847, 0, 1024, 1024LL * 1024 * 1024 + 1, 8 * 1024 * 1024), 128);  // 1 GiB / 8 MiB
  EXPECT_EQ(resolve_class_chunk(847, 0, 0, 1, 1 << 20), 1);
  EXPECT_THROW(resolve_class_chunk(847, -2, 1024, 0, 1), pat::Error);
  EXPECT_THROW(resolve_class_chunk(847, 0, -1, 0, 1), pat::Error);
}

TEST(WholeImage, MatchesPythonReference) {
  auto image = pat::read_npy(pat::test::data_path("eval/sliding_image.npy"));  // [3, 50, 70]
  FixedLogits model{pat::read_npy(pat::test::data_path("eval/whole_logits.npy"))};
  WholeImageOptions o;
  o.size = 48;  // padding 50x70 -> 64x96, then 48x48
  auto pred = pat::engine::predict_whole_image(image, model.fn(), o);
  EXPECT_EQ(model.calls, 1);
  EXPECT_TENSOR_CLOSE(model.views, pat::read_npy(pat::test::data_path("eval/whole_view.npy")), 1e-5, 1e-3);
  auto golden = pat::read_npy(pat::test::data_path("eval/whole_probs.npy"));  // [3, 50, 70]
  EXPECT_TRUE(torch::equal(pred.labels, golden.argmax(0)));
  EXPECT_TENSOR_CLOSE(pred.max_prob, std::get<0>(golden.max(0)), 1e-5, 1e-6);
  for (int64_t chunk : {1, 2}) {
    o.class_chunk = chunk;
    auto chunked = pat::engine::predict_whole_image(image, model.fn(), o);
    EXPECT_TRUE(torch::equal(chunked.labels, pred.labels));
    EXPECT_TRUE(torch::equal(chunked.max_prob, pred.max_prob));
  }
  o.pad_value = {1.0};
  EXPECT_THROW(pat::engine::predict_whole_image(image, model.fn(), o), pat::Error);
}

}  // namespace
