#include "pat/core/precision.h"

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "test_support.h"

TEST(Precision, RejectsUnknownModes) {
  EXPECT_THROW(pat::check_precision("fp16"), pat::Error);
  EXPECT_THROW(pat::Autocast(torch::kCPU, "half"), pat::Error);
  EXPECT_NO_THROW(pat::check_precision("bf16"));
}

TEST(Precision, AutocastLeavesTheCpuAndFp32Alone) {
  auto a = torch::randn({4, 4}), b = torch::randn({4, 4});
  {
    pat::Autocast on_cpu(torch::kCPU, "bf16");
    EXPECT_FALSE(on_cpu.enabled());
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
  }
  pat::Autocast fp32(torch::Device(torch::kCUDA, 0), "fp32");
  EXPECT_FALSE(fp32.enabled());
}

TEST(Precision, ChannelsLastKeepsResults) {
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 4, 1)));
  auto x = torch::randn({2, 3, 9, 7});
  auto before = net->forward(x);
  pat::to_channels_last(*net);
  for (const auto& p : net->parameters())
    if (p.dim() == 4) EXPECT_TRUE(p.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TENSOR_CLOSE(net->forward(x), before, 1e-5, 1e-6);
  // place_module applies it on CUDA only.
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3));
  pat::place_module(*conv, torch::kCPU, true);
  EXPECT_TRUE(conv->weight.is_contiguous());
}

TEST(Precision, AutocastRunsMatrixProductsInBf16_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  auto a = torch::randn({64, 64}, cuda), b = torch::randn({64, 64}, cuda);
  {
    pat::Autocast autocast(cuda, "bf16");
    EXPECT_TRUE(autocast.enabled());
    auto product = torch::mm(a, b);
    EXPECT_EQ(product.scalar_type(), torch::kBFloat16);
    EXPECT_TENSOR_CLOSE(product.to(torch::kFloat32).cpu(), torch::mm(a.cpu(), b.cpu()), 2e-2, 0.5);
    // Norms stay float32 under autocast.
    auto normed = torch::layer_norm(product, {64});
    EXPECT_EQ(normed.scalar_type(), torch::kFloat32);
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);  // restored
}

TEST(Precision, ChannelsLastConvolutionOnGpu_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(16, 32, 3).padding(1));
  auto x = torch::randn({2, 16, 24, 24});
  auto expected = conv->forward(x);
  pat::set_tf32(false);
  pat::place_module(*conv, cuda, true);
  EXPECT_TRUE(conv->weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TENSOR_CLOSE(conv->forward(x.to(cuda)).cpu(), expected, 1e-4, 1e-4);
  pat::set_tf32(true);
}
