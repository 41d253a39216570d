#pragma once
/// \file A caching allocator for large CPU tensors (docs/performance.md, "cpu_cache").
///
/// Without it every tensor above glibc's largest mmap threshold (32 MiB) is a fresh mapping that the kernel zeroes
/// page by page on first touch and unmaps when freed: about 260 MB of page faults per forward of the ViT-B/16 model,
/// at 3 us a page on a virtual machine. With it, freed blocks of at least `kCpuCacheMinBytes` stay mapped and serve
/// later requests of about the same size (a block at most 1/8 larger than asked), as LibTorch's CUDA caching
/// allocator does on GPUs. Smaller tensors go to LibTorch's own allocator (glibc reuses its heap for them).
///
/// Memory stays bounded: the bytes mapped (in use and cached) stay within 9/8 of the most ever in use, as a request
/// that finds no block to reuse first returns cached blocks (oldest first) where it would go beyond; and at most the
/// limit stays cached.

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
