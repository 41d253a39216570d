#include "pat/app/cli.h"

#include <gtest/gtest.h>

#include "pat/core/error.h"

namespace {

int run_with(std::vector<std::string> args, std::string& err) {
  auto app = pat::app::make_app("tool", "test tool");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags, false);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  testing::internal::CaptureStderr();
  int code = pat::app::run(*app, static_cast<int>(argv.size()), argv.data(), [&] {
    auto config = pat::app::load_config(flags);
    PAT_CHECK(config.train.lr < 1, "train.lr too large");
    return 0;
  });
  err = testing::internal::GetCapturedStderr();
  return code;
}

}  // namespace

TEST(Cli, ErrorsAreOneLineWithNonZeroExit) {
  std::string err;
  EXPECT_EQ(run_with({"tool", "--set", "train.lr=5"}, err), 1);
  EXPECT_EQ(err, "error: train.lr too large\n");
  EXPECT_EQ(run_with({"tool", "--bogus"}, err), 2);
  EXPECT_EQ(err.rfind("error: ", 0), 0u);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_EQ(run_with({"tool", "--set", "nope.x=1"}, err), 1);
  EXPECT_EQ(err.rfind("error: --set nope.x=1: nope: unknown key", 0), 0u) << err;
  EXPECT_EQ(run_with({"tool", "--set", "train.lr=0.5"}, err), 0);
  EXPECT_EQ(err, "");
}

TEST(Cli, SplitList) {
  EXPECT_EQ(pat::app::split_list("cat, sofa ,dining table"), (std::vector<std::string>{"cat", "sofa", "dining table"}));
  EXPECT_EQ(pat::app::split_list("a,,b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(pat::app::split_list(""), (std::vector<std::string>{""}));
}
