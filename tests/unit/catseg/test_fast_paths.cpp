// The CAT-Seg head's fast paths (fast_paths.h) against the straightforward code: same logits and
// gradients, and chunked inference identical to unchunked.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "catseg_test_util.h"
#include "pat/core/error.h"
#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/fast_paths.h"
#include "pat/model/catseg/patch_upsample.h"
#include "test_support.h"

using namespace pat::model;

namespace {

CatSegFastPaths all_off() {
  CatSegFastPaths p;
  p.tokens_last = p.factored_guidance = p.fused_attention = p.channels_last = p.gemm_upsampling = p.small_gemm =
      p.split_linear = p.head_conv = p.loop_gradients = false;
  p.chunk_bytes = 0;
  return p;
}

CatSegFastPaths only(const std::string& name) {
  ScopedCatSegFastPaths restore(all_off());
  set_catseg_fast_path(name, true);
  return catseg_fast_paths();
}

torch::Tensor run(CatSegHead& head, const pat::test::HeadInputs& in, const CatSegFastPaths& paths) {
  ScopedCatSegFastPaths scoped(paths);
  torch::NoGradGuard no_grad;
  return head(in.image, in.text, in.guidance1, in.guidance2);
}

}  // namespace

// Padding (3 classes < pad_len 4) and pruning (6 > 4), two images: every fast path alone and all of them
// together give the reference logits.
TEST(CatSegFastPaths, EveryPathMatchesTheStraightforwardCode) {
  for (int64_t classes : {3, 6}) {
    torch::manual_seed(classes);
    CatSegHead head(pat::test::tiny_head_options());
    head->eval();
    for (auto& p : head->parameters()) p.data().normal_(0, 0.3);  // non-trivial padding tokens, biases
    auto in = pat::test::random_head_inputs(head->options, 2, classes);
    const auto reference = run(head, in, all_off());
    for (const auto& name : catseg_fast_path_names()) {
      SCOPED_TRACE(name + " with " + std::to_string(classes) + " classes");
      EXPECT_TENSOR_CLOSE(run(head, in, only(name)), reference, 1e-4, 1e-5);
    }
    EXPECT_TENSOR_CLOSE(run(head, in, CatSegFastPaths{}), reference, 1e-4, 1e-5);
  }
}

// Chunks of one Swin row / one pixel / one decoder row give the unchunked result.
TEST(CatSegFastPaths, ChunkedInferenceIsIdentical) {
  torch::manual_seed(1);
  CatSegHead head(pat::test::tiny_head_options(/*pad_len=*/8));
  head->eval();
  for (auto& p : head->parameters()) p.data().normal_(0, 0.3);
  auto in = pat::test::random_head_inputs(head->options, 2, 5);
  CatSegFastPaths whole;
  whole.chunk_bytes = 0;
  CatSegFastPaths tiny;
  tiny.chunk_bytes = 1;  // one item per chunk
  CatSegFastPaths some;
  some.chunk_bytes = 64 << 10;
  const auto expected = run(head, in, whole);
  // Matrix products of other row counts may round differently in the last bit (BLAS blocking): equal
  // up to float rounding, and the same per-pixel class decisions.
  for (const auto* paths : {&tiny, &some}) {
    const auto chunked = run(head, in, *paths);
    EXPECT_TENSOR_CLOSE(chunked, expected, 1e-5, 1e-6);
    EXPECT_TRUE(torch::equal(chunked.argmax(1), expected.argmax(1)));
  }
}

// Training mode (class-attention pooling 2, no chunking, no in-place writes): the same loss and gradients.
TEST(CatSegFastPaths, GradientsMatchTheStraightforwardCode) {
  torch::manual_seed(2);
  CatSegHead head(pat::test::tiny_head_options());
  head->train();
  for (auto& p : head->parameters()) p.data().normal_(0, 0.3);
  auto in = pat::test::random_head_inputs(head->options, 2, 3);
  auto weights = torch::randn({2, 3, 32, 32});
  auto grads = [&](const CatSegFastPaths& paths) {
    ScopedCatSegFastPaths scoped(paths);
    head->zero_grad();
    auto loss = (head(in.image, in.text, in.guidance1, in.guidance2) * weights).sum();
    loss.backward();
    std::vector<torch::Tensor> out{loss.detach()};
    for (const auto& p : head->parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    return out;
  };
  const auto reference = grads(all_off());
  const auto fast = grads(CatSegFastPaths{});
  ASSERT_EQ(reference.size(), fast.size());
  EXPECT_TENSOR_CLOSE(fast[0], reference[0], 1e-4, 1e-4);
  for (size_t i = 1; i < fast.size(); ++i) {
    ASSERT_EQ(fast[i].defined(), reference[i].defined()) << "parameter " << i;
    if (reference[i].defined()) EXPECT_TENSOR_CLOSE(fast[i], reference[i], 1e-3, 1e-4) << "parameter " << i;
  }
}

TEST(CatSegFastPaths, SwitchesByName) {
  ScopedCatSegFastPaths restore(CatSegFastPaths{});
  set_catseg_fast_path("channels_last", false);
  EXPECT_FALSE(catseg_fast_paths().channels_last);
  set_catseg_fast_path("chunking", false);
  EXPECT_EQ(catseg_fast_paths().chunk_bytes, 0);
  set_catseg_fast_path("chunking", true);
  EXPECT_EQ(catseg_fast_paths().chunk_bytes, CatSegFastPaths{}.chunk_bytes);
  EXPECT_THROW(set_catseg_fast_path("warp_speed", true), pat::Error);
}

TEST(CatSegFastPaths, ChunkSizeFollowsTheBudgetOnlyWithoutGradients) {
  CatSegFastPaths paths;
  paths.chunk_bytes = 1000;
  ScopedCatSegFastPaths scoped(paths);
  EXPECT_EQ(catseg_chunk_items(50, 100), 50);  // gradients on: never chunked
  torch::NoGradGuard no_grad;
  EXPECT_EQ(catseg_chunk_items(50, 100), 10);
  EXPECT_EQ(catseg_chunk_items(50, 5000), 1);
  EXPECT_EQ(catseg_chunk_items(5, 100), 5);
}

TEST(CatSegFastPaths, CudaDevicesChunkWithTheirOwnBudget) {
  CatSegFastPaths paths;
  paths.chunk_bytes = 1000;
  paths.cuda_chunk_bytes = 2000;
  ScopedCatSegFastPaths scoped(paths);
  torch::NoGradGuard no_grad;
  const torch::Device cuda(torch::kCUDA, 0);  // only its type is read: no GPU needed
  EXPECT_EQ(catseg_chunk_items(50, 100, cuda), 20);
  EXPECT_EQ(catseg_chunk_items(50, 100, torch::kCPU), 10);
  catseg_fast_paths().chunk_bytes = 0;  // chunking off: off on every device
  EXPECT_EQ(catseg_chunk_items(50, 100, cuda), 50);
}

// The per-matrix products of window and class attention, on every operand layout the head produces (rows or
// columns contiguous, views of permuted tensors) and on layouts BLAS cannot read (strided columns).
TEST(CatSegFastPaths, BatchedProductMatchesMatmulOnEveryLayout) {
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  auto check = [](const torch::Tensor& a, const torch::Tensor& b) {
    ScopedCatSegFastPaths scoped(CatSegFastPaths{});
    EXPECT_TENSOR_CLOSE(catseg_bmm(a, b), torch::matmul(a, b), 1e-5, 1e-5);
  };
  check(torch::randn({6, 7, 5}), torch::randn({6, 5, 9}));                                  // contiguous
  check(torch::randn({6, 5, 7}).transpose(1, 2), torch::randn({6, 9, 5}).transpose(1, 2));  // columns contiguous
  auto q = torch::randn({3, 7, 2, 5}).permute({0, 2, 1, 3});                                // [N, H, L, D] views
  auto k = torch::randn({3, 7, 2, 5}).permute({0, 2, 1, 3});
  check(q, k.transpose(-2, -1));
  check(k.transpose(-2, -1), q);
  check(torch::randn({4, 6, 10}).slice(2, 0, 10, 2), torch::randn({4, 5, 3}));      // strided columns
  check(torch::randn({2, 1, 4}), torch::randn({2, 4, 1}));                          // single rows / columns
  check(torch::randn({2, 200, 160}), torch::randn({2, 200, 160}).transpose(1, 2));  // > 4M multiply-adds: the BLAS
  // Written into a given layout: [N, H, L, D] products into an [N, L, H, D] buffer, with and without the BLAS.
  for (bool fused : {true, false}) {
    CatSegFastPaths paths;
    paths.fused_attention = fused;
    ScopedCatSegFastPaths scoped(paths);
    auto buffer = torch::full({3, 7, 2, 5}, 42.0f);
    auto kv = torch::randn({3, 2, 5, 5});
    auto result = catseg_bmm(q, kv, buffer.permute({0, 2, 1, 3}));
    EXPECT_EQ(result.data_ptr(), buffer.data_ptr());
    EXPECT_TENSOR_CLOSE(buffer, torch::matmul(q, kv).permute({0, 2, 1, 3}), 1e-5, 1e-5);
    EXPECT_THROW(catseg_bmm(q, kv, torch::empty({3, 2, 7, 4})), pat::Error);                    // wrong shape
    EXPECT_THROW(catseg_bmm(q, kv, torch::empty({3, 2, 5, 7}).transpose(-2, -1)), pat::Error);  // strided rows
  }
}

// While training: the per-matrix loop as an autograd function, forward and backward equal to torch::matmul's on the
// layouts window and class attention differentiate (permuted views, transposed keys), with either operand alone
// requiring gradients; with loop_gradients off, torch::matmul itself.
TEST(CatSegFastPaths, BatchedProductGradientsMatchMatmul) {
  torch::manual_seed(6);
  auto check = [](torch::Tensor a, torch::Tensor b, bool grad_a, bool grad_b, bool loop) {
    CatSegFastPaths paths;
    paths.loop_gradients = loop;
    ScopedCatSegFastPaths scoped(paths);
    a = a.detach().requires_grad_(grad_a);
    b = b.detach().requires_grad_(grad_b);
    const auto weights = torch::randn(torch::matmul(a, b).sizes());
    auto out = catseg_bmm(a, b);
    ASSERT_TRUE(out.requires_grad());
    EXPECT_EQ(out.grad_fn()->name().find("LoopProduct") != std::string::npos, loop) << out.grad_fn()->name();
    auto ga = grad_a ? torch::autograd::grad({(out * weights).sum()}, {a}, {}, true)[0] : torch::Tensor();
    auto gb = grad_b ? torch::autograd::grad({(out * weights).sum()}, {b})[0] : torch::Tensor();
    auto a_ref = a.detach().requires_grad_(true), b_ref = b.detach().requires_grad_(true);
    auto ref = torch::matmul(a_ref, b_ref);
    (ref * weights).sum().backward();
    EXPECT_TENSOR_CLOSE(out.detach(), ref.detach(), 1e-5, 1e-5);
    if (grad_a) EXPECT_TENSOR_CLOSE(ga, a_ref.grad(), 1e-4, 1e-5);
    if (grad_b) EXPECT_TENSOR_CLOSE(gb, b_ref.grad(), 1e-4, 1e-5);
  };
  auto q = torch::randn({3, 7, 2, 5}).permute({0, 2, 1, 3});  // [N, H, L, D] views
  auto k = torch::randn({3, 7, 2, 5}).permute({0, 2, 1, 3});
  for (bool loop : {true, false}) {
    check(torch::randn({6, 7, 5}), torch::randn({6, 5, 9}), true, true, loop);
    check(q, k.transpose(-2, -1), true, true, loop);          // scores
    check(torch::randn({3, 2, 7, 7}), q, true, false, loop);  // attention x values, one side only
    check(k.transpose(-2, -1), q, false, true, loop);
    check(torch::randn({2, 200, 160}), torch::randn({2, 160, 200}), true, true, loop);  // > 4M multiply-adds
  }
}

// The head's linear layers split over the threads (one BLAS call per block of rows, rows starting as the bias): the
// same as F::linear with and without bias, on 3-d and strided inputs and on fewer rows than a split; with
// gradients, or with split_linear off, F::linear itself.
TEST(CatSegFastPaths, SplitLinearMatchesLinear) {
  torch::manual_seed(10);
  const auto weight = torch::randn({24, 16}), bias = torch::randn({24});
  auto check = [&](const torch::Tensor& x, const torch::Tensor& b) {
    torch::NoGradGuard no_grad;
    const auto fast = catseg_linear(x, weight, b);
    EXPECT_EQ(fast.sizes(), torch::nn::functional::linear(x, weight, b).sizes());
    EXPECT_TENSOR_CLOSE(fast, torch::nn::functional::linear(x, weight, b), 1e-5, 1e-5);
    // The residual form adds into a tensor of the output's shape, in place.
    auto residual = torch::randn(fast.sizes());
    const auto expected = residual + torch::nn::functional::linear(x, weight, b);
    const auto returned = catseg_linear(x, weight, b, residual);
    EXPECT_EQ(returned.data_ptr(), residual.data_ptr());
    EXPECT_TENSOR_CLOSE(residual, expected, 1e-5, 1e-5);
  };
  check(torch::randn({3, 100, 16}), bias);
  check(torch::randn({3, 100, 16}), torch::Tensor());
  check(torch::randn({300, 32}).slice(1, 0, 32, 2), bias);  // strided columns
  check(torch::randn({5, 16}), bias);                       // fewer rows than one thread's share
  check(torch::randn({200, 16}), bias);
  {
    // 2 048 outputs per row: blocks of 64 rows, several per thread and a shorter last one.
    torch::NoGradGuard no_grad;
    const auto wide = torch::randn({2048, 16}), wide_bias = torch::randn({2048}), rows = torch::randn({300, 16});
    const auto expected = torch::nn::functional::linear(rows, wide, wide_bias);
    EXPECT_TENSOR_CLOSE(catseg_linear(rows, wide, wide_bias), expected, 1e-5, 1e-5);
    auto residual = torch::randn({300, 2048});
    const auto with_residual = residual + expected;
    catseg_linear(rows, wide, wide_bias, residual);
    EXPECT_TENSOR_CLOSE(residual, with_residual, 1e-5, 1e-5);
  }
  {
    // One input column whose stride contiguous() keeps (a permuted channels-last map of one channel).
    torch::NoGradGuard no_grad;
    const auto column = torch::randn({3, 1, 5, 7}).permute({0, 2, 3, 1}).reshape({-1, 1});
    const auto w1 = torch::randn({9, 1});
    EXPECT_TENSOR_CLOSE(catseg_linear(column, w1), torch::nn::functional::linear(column, w1), 1e-5, 1e-6);
  }
  const auto x = torch::randn({7, 16}).requires_grad_(true);
  EXPECT_TRUE(catseg_linear(x, weight, bias).requires_grad());  // gradients recorded: F::linear
  {
    torch::NoGradGuard no_grad;  // a non-contiguous residual: F::linear and an add
    auto residual = torch::randn({16, 7}).t();
    const auto expected = residual + torch::nn::functional::linear(x, weight.narrow(0, 0, 16), bias.narrow(0, 0, 16));
    catseg_linear(x, weight.narrow(0, 0, 16), bias.narrow(0, 0, 16), residual);
    EXPECT_TENSOR_CLOSE(residual, expected, 1e-5, 1e-5);
  }
  CatSegFastPaths paths;
  paths.split_linear = false;
  ScopedCatSegFastPaths scoped(paths);
  check(torch::randn({200, 16}), bias);
}

// The head's 3x3 convolution to one channel: the same as the convolution at the borders and inside, on contiguous
// and channels-last input, with channel counts that do and do not fill the 8 partial sums; with gradients or the
// switch off it is the convolution itself.
TEST(CatSegFastPaths, HeadConvMatchesConvolution) {
  torch::manual_seed(11);
  namespace F = torch::nn::functional;
  for (int64_t c : {32, 13, 1}) {
    SCOPED_TRACE(c);
    const auto weight = torch::randn({1, c, 3, 3}), bias = torch::randn({1});
    const auto x = torch::randn({3, c, 5, 7});
    const auto expected = F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).padding(1));
    torch::NoGradGuard no_grad;
    EXPECT_TENSOR_CLOSE(catseg_head_conv(x, weight, bias), expected, 1e-5, 1e-4);
    EXPECT_TENSOR_CLOSE(catseg_head_conv(x.contiguous(at::MemoryFormat::ChannelsLast), weight, bias), expected, 1e-5,
                        1e-4);
    EXPECT_TENSOR_CLOSE(catseg_head_conv(x, weight, torch::Tensor()), expected - bias.item<float>(), 1e-5, 1e-4);
  }
  const auto weight = torch::randn({1, 4, 3, 3}, torch::requires_grad());
  EXPECT_TRUE(catseg_head_conv(torch::randn({1, 4, 6, 6}), weight, torch::Tensor()).requires_grad());
  CatSegFastPaths paths;
  paths.head_conv = false;
  ScopedCatSegFastPaths scoped(paths);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 4, 6, 6});
  EXPECT_TENSOR_CLOSE(catseg_head_conv(x, weight, torch::Tensor()),
                      F::conv2d(x, weight, F::Conv2dFuncOptions().padding(1)), 1e-6, 1e-6);
}

// Window attention fused per window (scores in a per-thread buffer): the same as the products, mask and softmax
// written out, with and without the shifted-window mask, on views of one q/k/v buffer (as the Swin block has
// them) into a permuted output; where it does not apply it reports so and writes nothing.
TEST(CatSegFastPaths, FusedWindowAttentionMatchesTheProducts) {
  torch::manual_seed(9);
  torch::NoGradGuard no_grad;
  const int64_t bw = 6, heads = 2, n = 9, d = 4, nw = 3;
  auto qkv = torch::randn({bw, n, 3 * heads * d});
  auto split = [&](int64_t i) {
    return qkv.narrow(-1, i * heads * d, heads * d).view({bw, n, heads, d}).transpose(1, 2);
  };
  const auto q = split(0), k = split(1), v = split(2);
  const auto mask =
      torch::where(torch::rand({nw, n, n}) < 0.3, torch::full({nw, n, n}, -100.0f), torch::zeros({nw, n, n}));
  for (bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "masked" : "plain");
    auto scores = torch::matmul(q, k.transpose(-2, -1));
    if (masked) scores = (scores.view({bw / nw, nw, heads, n, n}) + mask.unsqueeze(1)).view({bw, heads, n, n});
    const auto expected = torch::matmul(torch::softmax(scores, -1), v);
    auto buffer = torch::full({bw, n, heads, d}, 42.0f);
    ASSERT_TRUE(catseg_fused_window_attention(q, k, v, masked ? mask : torch::Tensor(), buffer.permute({0, 2, 1, 3})));
    EXPECT_TENSOR_CLOSE(buffer.permute({0, 2, 1, 3}), expected, 1e-5, 1e-5);
  }
  {  // 400 x 400 x 32 products (above small_gemm's size: the BLAS)
    auto big = torch::randn({1, 1, 400, 32});
    auto out = torch::empty_like(big);
    ASSERT_TRUE(catseg_fused_window_attention(big, big, big, torch::Tensor(), out));
    EXPECT_TENSOR_CLOSE(out, torch::matmul(torch::softmax(torch::matmul(big, big.transpose(-2, -1)), -1), big), 1e-5,
                        1e-5);
  }
  auto untouched = torch::full({bw, heads, n, d}, 42.0f);
  EXPECT_FALSE(catseg_fused_window_attention(q, k, v, torch::zeros({4, n, n}), untouched));  // 4 does not divide 6
  EXPECT_FALSE(catseg_fused_window_attention(q, k, v.narrow(-1, 0, 3), mask, untouched));    // shapes differ
  {
    CatSegFastPaths paths;
    paths.fused_attention = false;
    ScopedCatSegFastPaths scoped(paths);
    EXPECT_FALSE(catseg_fused_window_attention(q, k, v, mask, untouched));
  }
  {
    torch::AutoGradMode grad(true);
    EXPECT_FALSE(catseg_fused_window_attention(q, k, v, mask, untouched));
  }
  EXPECT_TRUE(torch::equal(untouched, torch::full({bw, heads, n, d}, 42.0f)));
}

// Transposed convolutions with kernel == stride as one matrix product: the module's own result, with and
// without bias, in both memory formats; with gradients (training) and for other geometries, the module itself.
TEST(CatSegFastPaths, PatchUpsampleMatchesTheTransposedConvolution) {
  torch::manual_seed(6);
  for (int64_t k : {2, 4})
    for (bool bias : {true, false})
      for (bool channels_last : {true, false}) {
        SCOPED_TRACE("k" + std::to_string(k) + (bias ? " bias" : "") + (channels_last ? " channels-last" : ""));
        torch::nn::ConvTranspose2d conv(torch::nn::ConvTranspose2dOptions(6, 5, k).stride(k).bias(bias));
        auto x = torch::randn({3, 6, 4, 5});
        CatSegFastPaths paths;
        paths.channels_last = channels_last;
        ScopedCatSegFastPaths scoped(paths);
        torch::NoGradGuard no_grad;
        auto fast = patch_upsample(conv, x);
        auto reference = conv->forward(x);
        EXPECT_EQ(fast.sizes(), reference.sizes());
        EXPECT_TENSOR_CLOSE(fast, reference, 1e-5, 1e-5);
        EXPECT_EQ(fast.is_contiguous(), !channels_last);  // the fast path ran: channels-last is its layout
      }
  torch::nn::ConvTranspose2d conv(torch::nn::ConvTranspose2dOptions(2, 3, 2).stride(2));
  auto x = torch::randn({2, 2, 4, 4});
  EXPECT_TRUE(torch::equal(patch_upsample(conv, x), conv->forward(x)));  // gradients recorded
  torch::NoGradGuard no_grad;
  torch::nn::ConvTranspose2d overlap(torch::nn::ConvTranspose2dOptions(2, 3, 3).stride(2).padding(1));
  EXPECT_TRUE(torch::equal(patch_upsample(overlap, x), overlap->forward(x)));
  torch::nn::ConvTranspose2d padded(torch::nn::ConvTranspose2dOptions(2, 3, 2).stride(2).padding(1));
  EXPECT_TRUE(torch::equal(patch_upsample(padded, x), padded->forward(x)));
}
