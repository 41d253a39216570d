#include "pat/core/cpu_cache.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

/// A float tensor of `mib` MiB.
torch::Tensor block(int64_t mib) {
  return torch::empty({mib * kMiB / 4});
}

/// Starts from an empty cache with this limit.
void fresh_cache(int64_t limit) {
  pat::set_cpu_cache_limit(0);
  pat::set_cpu_cache_limit(limit);
}

TEST(CpuCache, ReusesFreedBlocksOfAboutTheSameSize) {
  fresh_cache(512 * kMiB);
  const auto before = pat::cpu_cache_stats();
  void* first = nullptr;
  {
    auto t = block(40);
    first = t.data_ptr();
  }
  EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 40 * kMiB);
  {
    auto t = block(38);  // within 1/8 of the cached block: served by it
    EXPECT_EQ(t.data_ptr(), first);
    EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 0);
  }
  // Much smaller: a block of its own (a miss, counted below; the system may map it where the cached one was).
  { auto t = block(33); }
  const auto after = pat::cpu_cache_stats();
  EXPECT_EQ(after.hits - before.hits, 1);
  EXPECT_EQ(after.misses - before.misses, 2);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
}

TEST(CpuCache, ReusedBlocksHoldWhatIsWrittenAndZerosAreZeros) {
  fresh_cache(512 * kMiB);
  { auto t = torch::full({40 * kMiB / 4}, 3.0f); }
  auto z = torch::zeros({40 * kMiB / 4});  // the block just freed, full of 3s
  EXPECT_EQ(z.abs().max().item<float>(), 0.0f);
  auto kept = torch::full({36 * kMiB / 4}, 5.0f);
  { auto other = torch::full({36 * kMiB / 4}, 7.0f); }
  EXPECT_EQ(kept.min().item<float>(), 5.0f);
  EXPECT_EQ(kept.max().item<float>(), 5.0f);
}

TEST(CpuCache, KeepsAtMostTheLimit) {
  fresh_cache(50 * kMiB);
  { auto a = block(40), b = block(40); }
  EXPECT_LE(pat::cpu_cache_stats().cached_bytes, 50 * kMiB);
  EXPECT_GT(pat::cpu_cache_stats().cached_bytes, 0);
  pat::set_cpu_cache_limit(0);  // releases everything, keeps nothing more
  EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 0);
  const auto before = pat::cpu_cache_stats();
  { auto t = block(40); }
  EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 0);
  EXPECT_EQ(pat::cpu_cache_stats().misses, before.misses);  // LibTorch's own allocator served it
  EXPECT_EQ(pat::cpu_cache_limit(), 0);
}

TEST(CpuCache, NeverMapsMuchMoreThanThePeakInUse) {
  fresh_cache(4096 * kMiB);
  const int64_t base = pat::cpu_cache_stats().live_bytes;
  {
    std::vector<torch::Tensor> four;
    for (int i = 0; i < 4; ++i) four.push_back(block(40));
  }
  EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 160 * kMiB);
  // No cached block fits 100 MiB: older blocks are released so that in use + cached stays within 9/8 of the peak.
  auto big = block(100);
  const auto s = pat::cpu_cache_stats();
  const int64_t peak = std::max<int64_t>(base + 160 * kMiB, s.live_bytes);
  EXPECT_LE(s.live_bytes + s.cached_bytes, peak + peak / 8);
  EXPECT_LT(s.cached_bytes, 160 * kMiB);
}

TEST(CpuCache, RawAllocationsGoBackWhereTheyCameFrom) {
  fresh_cache(512 * kMiB);
  auto* allocator = c10::GetCPUAllocator();
  ASSERT_NE(allocator->raw_deleter(), nullptr);
  for (size_t bytes : {size_t{4096}, size_t(40 * kMiB)}) {
    void* p = allocator->raw_allocate(bytes);
    ASSERT_NE(p, nullptr);
    static_cast<char*>(p)[bytes - 1] = 1;
    allocator->raw_deallocate(p);
  }
  EXPECT_EQ(pat::cpu_cache_stats().cached_bytes, 40 * kMiB);
}

}  // namespace
