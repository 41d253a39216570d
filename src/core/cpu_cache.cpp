#include "pat/core/cpu_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

namespace pat {
namespace {

/// Sizes are rounded up to this, so that nearby requests share blocks.
constexpr size_t kGranule = size_t{64} << 10;

/// LibTorch's CPU allocator with large blocks kept for reuse (cpu_cache.h). The methods are declared without
/// `override` on purpose (but raw_deleter): LibTorch 1.x declares `allocate` const, 2.3 and later non-const with a
/// `copy_data`, and defining both forms serves either.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  c10::DataPtr allocate(size_t n) const { return const_cast<CachingCpuAllocator*>(this)->take(n); }
  c10::DataPtr allocate(size_t n) { return take(n); }
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }

  void set_limit(int64_t bytes) {
    std::vector<Block> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      limit_ = static_cast<size_t>(std::max<int64_t>(bytes, 0));
      evict_until(limit_, released);
    }
    unmap(released);
  }

  int64_t limit() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(limit_);
  }

  CpuCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {hits_, misses_, static_cast<int64_t>(cached_bytes_), static_cast<int64_t>(live_bytes_)};
  }

 private:
  struct Block {
    void* ptr;
    size_t size;
  };

  static void release(void* ptr);

  c10::DataPtr take(size_t n) {
    if (n < static_cast<size_t>(kCpuCacheMinBytes) || limit() == 0) return fallback_->allocate(n);
    const size_t size = (n + kGranule - 1) / kGranule * kGranule;
    std::vector<Block> released;
    void* ptr = nullptr;
    size_t mapped = size;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // The smallest cached block that fits, if it is at most 1/8 larger than asked.
      auto it = by_size_.lower_bound(size);
      if (it != by_size_.end() && it->first <= size + size / 8) {
        ptr = it->second->ptr;
        mapped = it->first;
        cached_bytes_ -= mapped;
        by_age_.erase(it->second);
        by_size_.erase(it);
        ++hits_;
      } else {
        // Mapped memory (in use and cached) stays within 1/8 above the most ever in use: cached blocks make room
        // for the new one where it would go beyond.
        const size_t in_use = live_bytes_ + size, peak = std::max(peak_live_, in_use);
        const size_t allowed = peak + peak / 8 - in_use;
        evict_until(std::min(limit_, allowed), released);
        ++misses_;
      }
    }
    unmap(released);
    if (!ptr) {
      ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      TORCH_CHECK(ptr != MAP_FAILED, "pat CPU allocator: out of memory allocating ", n, " bytes");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[ptr] = mapped;
    live_bytes_ += mapped;
    peak_live_ = std::max(peak_live_, live_bytes_);
    return {ptr, ptr, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  void give_back(void* ptr) {
    std::vector<Block> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(ptr);
      if (it == live_.end()) {  // a small block of the fallback's, freed through raw_deleter()
        if (auto deleter = fallback_->raw_deleter()) deleter(ptr);
        return;
      }
      const Block block{ptr, it->second};
      live_.erase(it);
      live_bytes_ -= block.size;
      by_age_.push_back(block);
      by_size_.emplace(block.size, std::prev(by_age_.end()));
      cached_bytes_ += block.size;
      evict_until(limit_, released);
    }
    unmap(released);
  }

  /// Moves the oldest cached blocks to `released` until at most `bytes` stay cached (lock held).
  void evict_until(size_t bytes, std::vector<Block>& released) {
    while (cached_bytes_ > bytes && !by_age_.empty()) {
      const Block oldest = by_age_.front();
      auto range = by_size_.equal_range(oldest.size);
      for (auto it = range.first; it != range.second; ++it)
        if (it->second == by_age_.begin()) {
          by_size_.erase(it);
          break;
        }
      by_age_.pop_front();
      cached_bytes_ -= oldest.size;
      released.push_back(oldest);
    }
  }

  static void unmap(const std::vector<Block>& blocks) {
    for (const auto& b : blocks) munmap(b.ptr, b.size);
  }

  c10::Allocator* fallback_;
  std::mutex mutex_;
  size_t limit_ = 0;
  std::list<Block> by_age_;                                    // cached, oldest first
  std::multimap<size_t, std::list<Block>::iterator> by_size_;  // cached, by size
  std::unordered_map<void*, size_t> live_;                     // in use: mapped size
  size_t cached_bytes_ = 0, live_bytes_ = 0, peak_live_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

CachingCpuAllocator*& installed() {
  static CachingCpuAllocator* allocator = nullptr;  // never destroyed: tensors may outlive static destructors
  return allocator;
}

void CachingCpuAllocator::release(void* ptr) {
  installed()->give_back(ptr);
}

}  // namespace

void set_cpu_cache_limit(int64_t bytes) {
  static std::once_flag once;
  std::call_once(once, [] {
    installed() = new CachingCpuAllocator(c10::GetCPUAllocator());
    c10::SetCPUAllocator(installed(), /*priority=*/1);
  });
  installed()->set_limit(bytes);
}

int64_t cpu_cache_limit() {
  return installed() ? installed()->limit() : 0;
}

CpuCacheStats cpu_cache_stats() {
  return installed() ? installed()->stats() : CpuCacheStats{};
}

}  // namespace pat
