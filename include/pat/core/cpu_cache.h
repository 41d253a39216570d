#pragma once
/// \file A caching allocator for large CPU tensors (docs/performance.md, "cpu_cache").
///
/// Without it every tensor of more than a few MB is a fresh mmap that the kernel zeroes page by page on first touch
/// and unmaps when freed: a forward of the ViT-B/16 model faults in about 700 MB that way, which costs about as
/// much CPU time as 40 GFLOP of matrix products on a virtual machine (3 us a page). With it, freed blocks of at least
/// `kCpuCacheMinBytes` stay mapped and serve later requests of about the same size (at most 1/8 larger), as
/// LibTorch's CUDA caching allocator does on GPUs. Smaller tensors go to LibTorch's own allocator.
///
/// Memory stays bounded by what the process would use without the cache: when a request finds no cached block to
/// reuse, cached blocks (oldest first) are returned to the system before a new one is mapped, at least as many bytes
/// as requested, so peak RSS does not grow; and no more than the limit stays cached while idle.

#include <cstdint>

namespace pat {

/// Blocks below this size are never cached.
constexpr int64_t kCpuCacheMinBytes = int64_t{32} << 20;

/// Installs the caching allocator as LibTorch's CPU allocator (once per process) and sets how many bytes of freed
/// blocks it may keep; 0 keeps none (every block goes back to the system when freed, as without the cache) and
/// releases what is cached now. Tensors allocated before stay valid.
void set_cpu_cache_limit(int64_t bytes);

/// The limit in effect (0 before set_cpu_cache_limit).
int64_t cpu_cache_limit();

struct CpuCacheStats {
  int64_t hits = 0;          ///< requests served by a cached block
  int64_t misses = 0;        ///< requests that mapped a new block
  int64_t cached_bytes = 0;  ///< held for reuse now
  int64_t live_bytes = 0;    ///< in blocks in use now
};

/// Counters since the process started (blocks of at least kCpuCacheMinBytes).
CpuCacheStats cpu_cache_stats();

}  // namespace pat
