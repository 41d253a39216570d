#include "pat/engine/dist/launcher.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

// The launcher starts copies of this test binary (/proc/self/exe). With PAT_LAUNCHER_WORKER set, a
// copy acts as a worker before GoogleTest starts: it records its environment in
// $PAT_LAUNCHER_WORKER/rank<R> and then, by PAT_LAUNCHER_MODE: "ok" exits 0; "fail" exits 3 on rank 1
// while the other ranks hang; "wait" hangs on every rank (until a signal).
const bool kWorkerRan = [] {
  const char* dir = std::getenv("PAT_LAUNCHER_WORKER");
  if (!dir) return false;
  const std::string rank = std::getenv("RANK") ? std::getenv("RANK") : "?";
  {
    std::ofstream out(std::string(dir) + "/rank" + rank + ".tmp");
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      out << name << "=" << (std::getenv(name) ? std::getenv(name) : "") << "\n";
  }
  fs::rename(std::string(dir) + "/rank" + rank + ".tmp", std::string(dir) + "/rank" + rank);
  const std::string mode = std::getenv("PAT_LAUNCHER_MODE") ? std::getenv("PAT_LAUNCHER_MODE") : "ok";
  if (mode == "ok") std::_Exit(0);
  if (mode == "fail" && rank == "1") std::_Exit(3);
  for (int i = 0; i < 600; ++i) ::usleep(100000);  // "hung" (a minute at most)
  std::_Exit(0);
}();

/// Runs the launcher on this binary in `mode`, with the worker directory `dir`.
int launch(const std::string& dir, const std::string& mode, int nproc, std::chrono::milliseconds grace) {
  ::setenv("PAT_LAUNCHER_WORKER", dir.c_str(), 1);
  ::setenv("PAT_LAUNCHER_MODE", mode.c_str(), 1);
  pat::engine::LaunchOptions o;
  o.nproc = nproc;
  o.grace = grace;
  const int code = pat::engine::launch_local_workers({"worker"}, o);
  ::unsetenv("PAT_LAUNCHER_WORKER");
  ::unsetenv("PAT_LAUNCHER_MODE");
  return code;
}

}  // namespace

TEST(Launcher, StartsWorkersWithTheTorchrunEnvironment) {
  ASSERT_FALSE(kWorkerRan);
  pat::test::TempDir dir;
  EXPECT_EQ(launch(dir.path(), "ok", 3, std::chrono::seconds(5)), 0);
  std::string port;
  for (int r = 0; r < 3; ++r) {
    const auto text = pat::read_file(dir.file("rank" + std::to_string(r)));
    EXPECT_NE(text.find("RANK=" + std::to_string(r) + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find("LOCAL_RANK=" + std::to_string(r) + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find("WORLD_SIZE=3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("LOCAL_WORLD_SIZE=3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("MASTER_ADDR=127.0.0.1\n"), std::string::npos) << text;
    const auto at = text.find("MASTER_PORT=");
    ASSERT_NE(at, std::string::npos);
    const auto value = text.substr(at + 12, text.find('\n', at) - at - 12);
    EXPECT_GT(std::stoi(value), 0);
    if (r > 0) EXPECT_EQ(value, port);  // one rendezvous for all
    port = value;
  }
}

TEST(Launcher, AFailedWorkerStopsTheOthersAndItsStatusIsReturned) {
  pat::test::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 exits 3; ranks 0 and 2 hang and are terminated after the grace period.
  EXPECT_EQ(launch(dir.path(), "fail", 3, std::chrono::milliseconds(500)), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(Launcher, ForwardsSignalsToTheWorkers) {
  pat::test::TempDir dir;
  std::thread interrupt([&] {
    // Once every worker is up, "press Ctrl-C" at the launcher.
    for (int i = 0; i < 600 && !(fs::exists(dir.file("rank0")) && fs::exists(dir.file("rank1"))); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(::getpid(), SIGINT);
  });
  const int code = launch(dir.path(), "wait", 2, std::chrono::seconds(30));
  interrupt.join();
  EXPECT_EQ(code, 128 + SIGINT);  // the workers died of the forwarded SIGINT
}

TEST(Launcher, RemovesTheNprocFlag) {
  using pat::engine::remove_flag;
  EXPECT_EQ(remove_flag({"pat_train", "--nproc", "2", "--config", "a.yaml"}, "--nproc"),
            (std::vector<std::string>{"pat_train", "--config", "a.yaml"}));
  EXPECT_EQ(remove_flag({"pat_train", "--nproc=4", "--resume"}, "--nproc"),
            (std::vector<std::string>{"pat_train", "--resume"}));
  EXPECT_THROW(pat::engine::launch_local_workers({"x"}, pat::engine::LaunchOptions{0}), pat::Error);
}
