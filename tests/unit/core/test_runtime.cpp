#include "pat/core/runtime.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"

TEST(Runtime, ResolvesCpuAndRejectsGarbage) {
  EXPECT_EQ(pat::resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(pat::resolve_device("gpu"), pat::Error);
  EXPECT_THROW(pat::resolve_device("cuda:x"), pat::Error);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(pat::resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_THROW(pat::resolve_device("cuda"), pat::Error);
  }
}

TEST(Runtime, SetsThreads) {
  EXPECT_EQ(pat::set_threads(1), 1);
  EXPECT_GE(pat::set_threads(0), 1);
  EXPECT_THROW(pat::set_threads(-2), pat::Error);
}

// PAT's own kernels split their loops with at::parallel_for, which runs serially in code compiled without OpenMP.
TEST(Runtime, ParallelForUsesEveryThreadInThisLibrary) {
  const int before = torch::get_num_threads();
  pat::set_threads(2);
  EXPECT_EQ(pat::parallel_for_threads(), 2);
  pat::set_threads(1);
  EXPECT_EQ(pat::parallel_for_threads(), 1);
  pat::set_threads(before);
}

TEST(Runtime, SeedingIsReproducible) {
  pat::seed_all(7);
  auto a = torch::randn({4});
  pat::seed_all(7);
  auto b = torch::randn({4});
  EXPECT_TRUE(torch::equal(a, b));
}
