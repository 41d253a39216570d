#pragma once
/// \file Shared test helpers: tensor tolerance checks, fixture paths, temporary directories.

#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace pat::test {

/// tests/data/<relative>
std::string data_path(const std::string& relative);

/// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Passes when shapes match and |a - b| <= atol + rtol * |b| everywhere; the message names the worst element.
::testing::AssertionResult tensors_close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol = 1e-4,
                                         double atol = 1e-5);

}  // namespace pat::test

#define EXPECT_TENSOR_CLOSE(actual, expected, ...) \
  EXPECT_TRUE(::pat::test::tensors_close(actual, expected, ##__VA_ARGS__))
#define ASSERT_TENSOR_CLOSE(actual, expected, ...) \
  ASSERT_TRUE(::pat::test::tensors_close(actual, expected, ##__VA_ARGS__))
