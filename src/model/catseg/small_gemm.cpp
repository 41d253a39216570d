#include "pat/model/catseg/small_gemm.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define PAT_AVX2_FMA __attribute__((target("avx2,fma")))
#endif

namespace pat::model {

namespace {

constexpr int64_t kPanel = 16;  // columns of C per micro-kernel call: two 8-float registers
constexpr int kRows = 6;        // rows of C per micro-kernel call: 12 accumulators + 2 of B + 1 of A

#if defined(__x86_64__)
/// Stores one row of accumulators (the first `cols` of 16 columns).
PAT_AVX2_FMA inline void store_row(float* row, __m256 lo, __m256 hi, int64_t cols) {
  if (cols == kPanel) {
    _mm256_storeu_ps(row, lo);
    _mm256_storeu_ps(row + 8, hi);
    return;
  }
  alignas(32) float tail[kPanel];
  _mm256_store_ps(tail, lo);
  _mm256_store_ps(tail + 8, hi);
  std::memcpy(row, tail, sizeof(float) * cols);
}

/// One row of the 6x16 block: lo, hi += a * (b0, b1).
PAT_AVX2_FMA inline void fma_row(const float* a, __m256 b0, __m256 b1, __m256& lo, __m256& hi) {
  const __m256 x = _mm256_broadcast_ss(a);
  lo = _mm256_fmadd_ps(x, b0, lo);
  hi = _mm256_fmadd_ps(x, b1, hi);
}

/// C[0:R, 0:cols] = A[0:R, 0:k] * panel, panel = B's k x 16 block, its rows `ps` floats apart (16 where packed).
/// The accumulators are named variables (an array of them would be kept in memory by GCC, one store per FMA).
template <int R>
PAT_AVX2_FMA void micro_kernel(int64_t k, const float* a, int64_t ars, int64_t acs, const float* panel, int64_t ps,
                               float* c, int64_t ldc, int64_t cols) {
  static_assert(R >= 1 && R <= kRows);
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(panel + p * ps), b1 = _mm256_loadu_ps(panel + p * ps + 8);
    const float* ap = a + p * acs;
    fma_row(ap, b0, b1, c00, c01);
    if constexpr (R > 1) fma_row(ap + ars, b0, b1, c10, c11);
    if constexpr (R > 2) fma_row(ap + 2 * ars, b0, b1, c20, c21);
    if constexpr (R > 3) fma_row(ap + 3 * ars, b0, b1, c30, c31);
    if constexpr (R > 4) fma_row(ap + 4 * ars, b0, b1, c40, c41);
    if constexpr (R > 5) fma_row(ap + 5 * ars, b0, b1, c50, c51);
  }
  store_row(c, c00, c01, cols);
  if constexpr (R > 1) store_row(c + ldc, c10, c11, cols);
  if constexpr (R > 2) store_row(c + 2 * ldc, c20, c21, cols);
  if constexpr (R > 3) store_row(c + 3 * ldc, c30, c31, cols);
  if constexpr (R > 4) store_row(c + 4 * ldc, c40, c41, cols);
  if constexpr (R > 5) store_row(c + 5 * ldc, c50, c51, cols);
}

using MicroKernel = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t);
constexpr MicroKernel kMicroKernels[kRows] = {micro_kernel<1>, micro_kernel<2>, micro_kernel<3>,
                                              micro_kernel<4>, micro_kernel<5>, micro_kernel<6>};

PAT_AVX2_FMA void gemm_avx2(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc,
                            float* pack) {
  const int64_t panels = (n + kPanel - 1) / kPanel;
  // B is read in place where its rows are contiguous and fill whole panels; else packed (transposed, zero-padded).
  const bool direct = b.col_stride == 1 && n % kPanel == 0;
  for (int64_t jp = 0; jp < (direct ? 0 : panels); ++jp) {
    float* panel = pack + jp * k * kPanel;
    const int64_t j0 = jp * kPanel, cols = std::min(kPanel, n - j0);
    for (int64_t p = 0; p < k; ++p) {
      const float* src = b.data + p * b.row_stride + j0 * b.col_stride;
      float* dst = panel + p * kPanel;
      int64_t j = 0;
      for (; j < cols; ++j) dst[j] = src[j * b.col_stride];
      for (; j < kPanel; ++j) dst[j] = 0.0f;
    }
  }
  for (int64_t jp = 0; jp < panels; ++jp) {
    const int64_t j0 = jp * kPanel, cols = std::min(kPanel, n - j0);
    const float* panel = direct ? b.data + j0 : pack + jp * k * kPanel;
    const int64_t ps = direct ? b.row_stride : kPanel;
    // Blocks of 6 rows; a remainder under 4 rows shares the last full block's rows (two blocks of 4 or 5 keep
    // more accumulators busy than one of 1-3).
    const int64_t rest = m % kRows, full = m / kRows - (rest > 0 && rest < 4 && m > kRows ? 1 : 0);
    for (int64_t i = 0; i < m;) {
      const int64_t left = m - i, rows = i < full * kRows ? kRows : left <= kRows ? left : (left + 1) / 2;
      kMicroKernels[rows - 1](k, a.data + i * a.row_stride, a.row_stride, a.col_stride, panel, ps, c + i * ldc + j0,
                              ldc, cols);
      i += rows;
    }
  }
}
#endif

}  // namespace

bool small_gemm_available() {
#if defined(__x86_64__)
  static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return available;
#else
  return false;
#endif
}

int64_t small_gemm_pack_floats(int64_t k, int64_t n) {
  return std::max<int64_t>(k, 1) * ((n + kPanel - 1) / kPanel) * kPanel;
}

void small_gemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, float* pack) {
#if defined(__x86_64__)
  gemm_avx2(m, n, k, a, b, c, ldc, pack);
#else
  (void)m, (void)n, (void)k, (void)a, (void)b, (void)c, (void)ldc, (void)pack;
#endif
}

}  // namespace pat::model
