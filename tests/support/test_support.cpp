#include "test_support.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <sstream>

namespace pat::test {

std::string data_path(const std::string& relative) {
  return std::string(PAT_TEST_DATA_DIR) + "/" + relative;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  auto base = std::filesystem::temp_directory_path() /
              ("pat_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  path_ = base.string();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

::testing::AssertionResult tensors_close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol,
                                         double atol) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream s;
    s << "shape mismatch: actual " << actual.sizes() << " vs expected " << expected.sizes();
    return ::testing::AssertionFailure() << s.str();
  }
  auto a = actual.detach().to(torch::kCPU).to(torch::kFloat64);
  auto b = expected.detach().to(torch::kCPU).to(torch::kFloat64);
  if (a.numel() == 0) return ::testing::AssertionSuccess();
  auto excess = (a - b).abs() - (atol + rtol * b.abs());
  if (!torch::isfinite(a).all().item<bool>()) return ::testing::AssertionFailure() << "actual has non-finite values";
  auto worst = excess.flatten().argmax().item<int64_t>();
  double worst_excess = excess.flatten()[worst].item<double>();
  if (worst_excess <= 0) return ::testing::AssertionSuccess();
  std::ostringstream s;
  s << "tensors differ: at flat index " << worst << " actual " << a.flatten()[worst].item<double>() << " expected "
    << b.flatten()[worst].item<double>() << " (rtol " << rtol << ", atol " << atol << "); max abs diff "
    << (a - b).abs().max().item<double>();
  return ::testing::AssertionFailure() << s.str();
}

}  // namespace pat::test
