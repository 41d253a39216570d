#pragma once
/// \file Matrix products too small for a BLAS call to pay off: window attention's 144x32 by 32x144 scores and
/// 144x144 by 144x32 outputs, linear attention's 32x256 by 256x32 key-value products. A BLAS call costs about
/// 10 us of fixed work (argument checks, buffers, packing both operands), as much as such a product itself; this
/// kernel packs at most the right operand (in 16-column panels), and keeps a 6x16 block of C in AVX2 registers.

#include <cstdint>

namespace pat::model {

/// A read-only matrix: element (r, c) at data[r * row_stride + c * col_stride].
struct MatrixView {
  const float* data = nullptr;
  int64_t row_stride = 0;
  int64_t col_stride = 1;
};

/// Whether this CPU runs small_gemm (x86-64 with AVX2 and FMA, checked once at run time).
bool small_gemm_available();

/// Floats of scratch small_gemm needs for a right operand of k rows and n columns.
int64_t small_gemm_pack_floats(int64_t k, int64_t n);

/// C[m, n] = A[m, k] B[k, n], C row-major with row stride ldc; `pack` holds small_gemm_pack_floats(k, n) floats.
/// Single-threaded (callers run one product per task). Only where small_gemm_available().
void small_gemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, float* pack);

}  // namespace pat::model
