// small_gemm (the AVX2 kernel of the attention products) against LibTorch's double-precision product: every
// row remainder of the 6-row blocks, column counts around the 16-column panels, an empty inner dimension, and
// operands read through row, column and doubly strided views; C's padding columns stay untouched.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "pat/model/catseg/small_gemm.h"
#include "test_support.h"

using namespace pat::model;

namespace {

MatrixView view_of(const torch::Tensor& t) {
  return {t.data_ptr<float>(), t.stride(0), t.stride(1)};
}

/// C = A B through small_gemm into a [m, n + 3] buffer of 7s: returns the first n columns; the rest must stay 7.
torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  auto c = torch::full({m, n + 3}, 7.0f);
  std::vector<float> pack(small_gemm_pack_floats(k, n));
  small_gemm(m, n, k, view_of(a), view_of(b), c.data_ptr<float>(), c.stride(0), pack.data());
  EXPECT_TRUE(torch::equal(c.narrow(1, n, 3), torch::full({m, 3}, 7.0f)));
  return c.narrow(1, 0, n);
}

}  // namespace

TEST(SmallGemm, MatchesMatmulOnEveryShapeAndLayout) {
  if (!small_gemm_available()) GTEST_SKIP() << "this CPU has no AVX2 + FMA";
  torch::manual_seed(11);
  auto check = [](const torch::Tensor& a, const torch::Tensor& b) {
    const auto expected = torch::matmul(a.to(torch::kDouble), b.to(torch::kDouble)).to(torch::kFloat);
    EXPECT_TENSOR_CLOSE(product(a, b), expected, 1e-5, 1e-5);
  };
  for (int64_t m : {1, 2, 3, 5, 6, 7, 9, 10, 13, 32, 144})
    for (int64_t n : {1, 7, 16, 17, 32, 33})
      for (int64_t k : {1, 4, 32}) {
        SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
        check(torch::randn({m, k}), torch::randn({k, n}));                               // rows contiguous
        check(torch::randn({k, m}).t(), torch::randn({n, k}).t());                       // columns contiguous
        check(torch::randn({2 * m, 3 * k}).slice(0, 0, 2 * m, 2).slice(1, 0, 3 * k, 3),  // both strided
              torch::randn({k, 2 * n}).slice(1, 0, 2 * n, 2));
      }
  check(torch::randn({144, 32}), torch::randn({144, 32}).t());  // window attention's scores, q k^T
  check(torch::randn({144, 144}), torch::randn({144, 32}));     // and its output
  check(torch::randn({256, 32}).t(), torch::randn({256, 32}));  // linear attention's k^T v
  EXPECT_TRUE(torch::equal(product(torch::randn({5, 0}), torch::randn({0, 9})), torch::zeros({5, 9})));  // k = 0
}
