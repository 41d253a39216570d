#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/npy.h"
#include "pat/core/safetensors.h"
#include "test_support.h"

using pat::test::TempDir;

TEST(Npy, RoundTripsEachDtype) {
  TempDir dir;
  torch::manual_seed(0);
  std::vector<torch::Tensor> tensors = {torch::randn({3, 4}), torch::randint(-100, 100, {5}, torch::kInt64),
                                        torch::randint(0, 255, {2, 2, 3}, torch::kUInt8), torch::randn({})};
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto path = dir.file("t" + std::to_string(i) + ".npy");
    pat::write_npy(path, tensors[i]);
    auto back = pat::read_npy(path);
    EXPECT_EQ(back.scalar_type(), tensors[i].scalar_type());
    EXPECT_TRUE(torch::equal(back, tensors[i])) << i;
  }
}

TEST(Npy, ReadsFixtureWrittenByNumpy) {
  // tests/data/core/arange.npy: np.arange(6, dtype=np.float32).reshape(2, 3), written by tools/gen_core_fixtures.py
  auto t = pat::read_npy(pat::test::data_path("core/arange.npy"));
  EXPECT_TRUE(torch::equal(t, torch::arange(6, torch::kFloat32).reshape({2, 3})));
  auto u = pat::read_npy(pat::test::data_path("core/u16.npy"));
  EXPECT_EQ(u.scalar_type(), torch::kInt32);
  EXPECT_EQ(u[1].item<int>(), 65535);
}

TEST(Npy, RejectsCorruptFiles) {
  TempDir dir;
  EXPECT_THROW(pat::read_npy(dir.file("missing.npy")), pat::Error);
  pat::write_file_atomic(dir.file("junk.npy"), "hello world, not numpy");
  EXPECT_THROW(pat::read_npy(dir.file("junk.npy")), pat::Error);
  pat::write_npy(dir.file("ok.npy"), torch::ones({10}));
  std::string bytes = pat::read_file(dir.file("ok.npy"));
  pat::write_file_atomic(dir.file("short.npy"), bytes.substr(0, bytes.size() - 4));
  EXPECT_THROW(pat::read_npy(dir.file("short.npy")), pat::Error);
}

TEST(SafeTensors, RoundTripsTensorsAndMetadata) {
  TempDir dir;
  std::map<std::string, torch::Tensor> tensors = {{"a.weight", torch::randn({4, 3})},
                                                  {"b.half", torch::randn({5}).to(torch::kFloat16)},
                                                  {"c.ids", torch::arange(7, torch::kInt64)}};
  pat::write_safetensors(dir.file("m.safetensors"), tensors, {{"format", "pt"}});
  auto back = pat::read_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(back.tensors.size(), 3u);
  for (const auto& [name, t] : tensors) {
    EXPECT_EQ(back.tensors.at(name).scalar_type(), t.scalar_type());
    EXPECT_TRUE(torch::equal(back.tensors.at(name), t)) << name;
  }
  EXPECT_EQ(back.metadata.at("format"), "pt");
}

TEST(SafeTensors, ReadsFixtureWrittenByPython) {
  // Written byte by byte by tools/gen_core_fixtures.py following the safetensors spec.
  auto st = pat::read_safetensors(pat::test::data_path("core/small.safetensors"));
  EXPECT_TRUE(torch::equal(st.tensors.at("x"), torch::arange(6, torch::kFloat32).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(st.tensors.at("y"), torch::tensor({1, 2}, torch::kInt64)));
}

TEST(SafeTensors, RejectsCorruptFiles) {
  TempDir dir;
  pat::write_file_atomic(dir.file("a"), "abc");
  EXPECT_THROW(pat::read_safetensors(dir.file("a")), pat::Error);
  std::string bad("\x05\0\0\0\0\0\0\0{bad}", 13);
  pat::write_file_atomic(dir.file("b"), bad);
  EXPECT_THROW(pat::read_safetensors(dir.file("b")), pat::Error);
  std::string huge("\xff\xff\0\0\0\0\0\0{}", 10);
  pat::write_file_atomic(dir.file("c"), huge);
  EXPECT_THROW(pat::read_safetensors(dir.file("c")), pat::Error);
}

TEST(Fs, AtomicWriteLeavesNothingOnFailure) {
  TempDir dir;
  auto target = dir.file("out.bin");
  EXPECT_THROW(pat::write_atomic(target,
                                 [](const std::string& tmp) {
                                   std::ofstream(tmp) << "partial";
                                   PAT_FAIL("writer failed midway");
                                 }),
               pat::Error);
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 0);
  EXPECT_THROW(pat::write_file_atomic("/proc/definitely/not/here.bin", "x"), pat::Error);
}
