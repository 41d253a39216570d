// The end-to-end checks, on real processes of the real tool: data-parallel training over Gloo
// equals one process with the global batch, launched through torchrun's environment and through
// --nproc; a rank that dies or hangs ends the job with an error on every rank within a bounded time.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "dist_test_util.h"
#include "pat/core/safetensors.h"
#include "pat/engine/train/metrics_log.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

const std::string kTrain = std::string(PAT_BIN_DIR) + "/pat_train";

/// Starts pat_train with `args` and extra environment; stdout and stderr go to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      ::unsetenv(name);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (out) ::dup2(::fileno(stdout), STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(kTrain.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kTrain.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Exit status of `pid` (128 + signal when killed); -1 (after killing it) when it outlives `limit`.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The 22-class world (the catalogue before snow, wood, orange, ..., crosses and rings): the sharded and the
/// one-process models differ in the last bits and must still predict the same pixels; over the 56-class
/// catalogue a near tie flips one.
const char* const kTwentyTwoClasses =
    "data.synthetic_classes=[sky, grass, water, road, wall, sand, red circle, red square, red triangle, red star, "
    "green circle, green square, green triangle, green star, blue circle, blue square, blue triangle, blue star, "
    "yellow circle, yellow square, yellow triangle, yellow star]";

std::vector<std::string> train_args(const std::string& out, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--config", pat::test::data_path("engine/tiny.yaml"),
                                "--set",    "train.output_dir=" + out,
                                "--set",    "train.max_iter=6",
                                "--set",    "train.batch_size=4",
                                "--set",    "train.eval_period=3",
                                "--set",    "runtime.threads=1",
                                "--set",    kTwentyTwoClasses};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::map<std::string, std::string> torchrun_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},       {"WORLD_SIZE", std::to_string(world)},
          {"LOCAL_RANK", std::to_string(rank)}, {"LOCAL_WORLD_SIZE", std::to_string(world)},
          {"MASTER_ADDR", "127.0.0.1"},         {"MASTER_PORT", std::to_string(port)}};
}

/// Starts `world` ranks the way torchrun would and returns their exit statuses.
std::vector<int> run_torchrun_style(int world, const std::vector<std::string>& args, const std::string& logs) {
  const int port = pat::engine::free_local_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r)
    pids.push_back(spawn(args, torchrun_env(r, world, port), logs + "/rank" + std::to_string(r) + ".log"));
  std::vector<int> codes;
  for (auto pid : pids) codes.push_back(wait_for(pid, std::chrono::seconds(300)));
  return codes;
}

/// Largest |a - b| over every tensor of two weight files (which must hold the same names and shapes).
double max_weight_difference(const std::string& a_path, const std::string& b_path) {
  auto a = pat::read_safetensors(a_path).tensors;
  auto b = pat::read_safetensors(b_path).tensors;
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, ta] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << name << " missing";
      continue;
    }
    EXPECT_EQ(ta.sizes(), it->second.sizes()) << name;
    if (ta.numel() > 0 && ta.sizes() == it->second.sizes())
      worst = std::max(worst, (ta.to(torch::kFloat64) - it->second.to(torch::kFloat64)).abs().max().item<double>());
  }
  return worst;
}

/// Waits (up to 2 minutes) until `log` contains `text` or reports an error; true when it contains `text`.
bool wait_for_log(const std::string& log, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto content = read_text(log);
    if (content.find(text) != std::string::npos) return true;
    if (content.find("error:") != std::string::npos) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

/// SIGKILLs and reaps every process of `pids` still running.
void kill_all(const std::vector<pid_t>& pids) {
  for (auto pid : pids) wait_for(pid, std::chrono::seconds(0));
}

std::vector<double> validation_mious(const std::string& dir) {
  std::vector<double> mious;
  for (const auto& r : pat::engine::MetricsLog::read(dir + "/metrics.jsonl"))
    if (r.contains("mIoU")) mious.push_back(r["mIoU"].get<double>());
  return mious;
}

/// One process with the global batch of 4: the reference of the data-parallel runs (trained once).
const std::string& reference_run() {
  static const std::string dir = [] {
    const std::string d = fs::temp_directory_path().string() + "/pat_dist_reference_" + std::to_string(::getpid());
    fs::remove_all(d);
    fs::create_directories(d);
    const pid_t pid = spawn(train_args(d + "/run"), {}, d + "/train.log");
    EXPECT_EQ(wait_for(pid, std::chrono::seconds(300)), 0) << read_text(d + "/train.log");
    return d + "/run";
  }();
  return dir;
}

void expect_matches_reference(const std::string& run) {
  ASSERT_TRUE(fs::exists(run + "/model_final.safetensors"));
  // Same parameters and buffers (codebooks, EMA statistics) after 6 steps with dead-code restarts.
  EXPECT_LE(max_weight_difference(run + "/model_final.safetensors", reference_run() + "/model_final.safetensors"),
            1e-5);
  // Sharded validation sums the confusion matrices: the same mIoU as one process.
  auto mine = validation_mious(run), expected = validation_mious(reference_run());
  ASSERT_EQ(mine.size(), 2u);
  ASSERT_EQ(expected.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(mine[i], expected[i], 1e-6);
}

}  // namespace

TEST(DistributedTraining, TorchrunEnvironmentMatchesOneProcessWithTheGlobalBatch) {
  pat::test::TempDir dir;
  auto codes = run_torchrun_style(2, train_args(dir.file("run")), dir.path());
  for (int r = 0; r < 2; ++r)
    EXPECT_EQ(codes[static_cast<size_t>(r)], 0) << read_text(dir.file("rank" + std::to_string(r) + ".log"));
  expect_matches_reference(dir.file("run"));
  // Rank 0 logged and wrote; rank 1 said nothing (and the ranks checked they hold the same model).
  EXPECT_NE(read_text(dir.file("rank0.log")).find("all 2 ranks hold identical parameters"), std::string::npos);
  EXPECT_EQ(read_text(dir.file("rank1.log")), "");
  EXPECT_EQ(pat::engine::MetricsLog::read(dir.file("run/metrics.jsonl")).size(), 6u + 2u);  // 6 steps, 2 validations
}

TEST(DistributedTraining, NprocLaunchMatchesOneProcessWithTheGlobalBatch) {
  pat::test::TempDir dir;
  auto args = train_args(dir.file("run"), {"--nproc", "2"});
  const pid_t pid = spawn(args, {}, dir.file("launcher.log"));
  ASSERT_EQ(wait_for(pid, std::chrono::seconds(300)), 0) << read_text(dir.file("launcher.log"));
  expect_matches_reference(dir.file("run"));
  EXPECT_NE(read_text(dir.file("launcher.log")).find("launched 2 workers"), std::string::npos);
}

TEST(DistributedTraining, ResumeWithAnotherWorldSizeWarnsAndContinues) {
  pat::test::TempDir dir;
  // Two processes for 3 steps, then one process resumes to step 6.
  auto first = run_torchrun_style(2, train_args(dir.file("run"), {"--set", "train.max_iter=3"}), dir.path());
  ASSERT_EQ(first, (std::vector<int>{0, 0})) << read_text(dir.file("rank0.log"));
  const pid_t pid = spawn(train_args(dir.file("run"), {"--resume"}), {}, dir.file("resume.log"));
  ASSERT_EQ(wait_for(pid, std::chrono::seconds(300)), 0) << read_text(dir.file("resume.log"));
  const auto log = read_text(dir.file("resume.log"));
  EXPECT_NE(log.find("was written by 2 process(es), this run has 1"), std::string::npos) << log;
  EXPECT_NE(log.find("resumed from"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(dir.file("run/model_final.safetensors")));
}

TEST(DistributedTraining, AKilledRankEndsTheJobWithAnErrorOnEveryRank) {
  pat::test::TempDir dir;
  const int port = pat::engine::free_local_port();
  auto args = train_args(dir.file("run"), {"--set", "train.max_iter=100000", "--set", "train.batch_size=6", "--set",
                                           "train.eval_period=0", "--set", "runtime.dist_timeout=60"});
  std::vector<pid_t> pids;
  for (int r = 0; r < 3; ++r)
    pids.push_back(spawn(args, torchrun_env(r, 3, port), dir.file("rank" + std::to_string(r) + ".log")));
  // Once training runs (rank 0 logged step 3), kill rank 1.
  if (!wait_for_log(dir.file("rank0.log"), "step 3/")) {
    kill_all(pids);
    FAIL() << read_text(dir.file("rank0.log"));
  }
  ::kill(pids[1], SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  // The survivors fail at their next collective: well before the 60 s timeout.
  for (int r : {0, 2}) {
    const int code = wait_for(pids[static_cast<size_t>(r)], std::chrono::seconds(50));
    const auto log = read_text(dir.file("rank" + std::to_string(r) + ".log"));
    EXPECT_NE(code, 0) << "rank " << r << ": " << log;
    EXPECT_NE(code, -1) << "rank " << r << " still running 50 s after its peer died";
    EXPECT_NE(log.find("error: distributed (rank " + std::to_string(r) + " of 3)"), std::string::npos) << log;
  }
  wait_for(pids[1], std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(50));
}

TEST(DistributedTraining, AHungRankFailsTheOthersAfterTheTimeout) {
  pat::test::TempDir dir;
  const int port = pat::engine::free_local_port();
  auto args = train_args(dir.file("run"), {"--set", "train.max_iter=100000", "--set", "train.eval_period=0", "--set",
                                           "runtime.dist_timeout=4"});
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn(args, torchrun_env(r, 2, port), dir.file("rank" + std::to_string(r) + ".log")));
  if (!wait_for_log(dir.file("rank0.log"), "step 2/")) {
    kill_all(pids);
    FAIL() << read_text(dir.file("rank0.log"));
  }
  ::kill(pids[1], SIGSTOP);  // alive but silent: only the timeout can tell
  const int code = wait_for(pids[0], std::chrono::seconds(60));
  const auto log = read_text(dir.file("rank0.log"));
  EXPECT_NE(code, 0) << log;
  EXPECT_NE(code, -1) << "rank 0 still waiting 60 s after its peer stopped (timeout 4 s)";
  EXPECT_NE(log.find("error: distributed (rank 0 of 2)"), std::string::npos) << log;
  ::kill(pids[1], SIGKILL);
  wait_for(pids[1], std::chrono::seconds(5));
}

TEST(DistributedTraining, CtrlCStopsEveryRankAtOneStepWithACheckpoint) {
  pat::test::TempDir dir;
  auto args = train_args(dir.file("run"), {"--set", "train.max_iter=30", "--set", "train.eval_period=0", "--set",
                                           "train.checkpoint_period=1000", "--nproc", "2"});
  const pid_t launcher = spawn(args, {}, dir.file("first.log"));
  if (!wait_for_log(dir.file("first.log"), "step 3/")) {
    kill_all({launcher});
    FAIL() << read_text(dir.file("first.log"));
  }
  ::kill(launcher, SIGINT);  // the launcher forwards it once to each worker
  EXPECT_EQ(wait_for(launcher, std::chrono::seconds(120)), 128 + SIGINT) << read_text(dir.file("first.log"));
  const auto first = read_text(dir.file("first.log"));
  ASSERT_NE(first.find("stopped by signal 2 at step"), std::string::npos) << first;
  ASSERT_TRUE(fs::exists(dir.file("run/last.pt")));
  // Continue to the end with the same two processes.
  auto resume = args;
  resume.push_back("--resume");
  const pid_t again = spawn(resume, {}, dir.file("second.log"));
  ASSERT_EQ(wait_for(again, std::chrono::seconds(300)), 0) << read_text(dir.file("second.log"));
  const auto second = read_text(dir.file("second.log"));
  EXPECT_NE(second.find("resumed from"), std::string::npos) << second;
  EXPECT_EQ(second.find("was written by"), std::string::npos) << second;  // same world size: no warning
  EXPECT_NE(second.find("step 30/30"), std::string::npos) << second;
}

TEST(DistributedTraining, BadLaunchesAreOneLineErrors) {
  pat::test::TempDir dir;
  struct Case {
    std::vector<std::string> extra;
    std::map<std::string, std::string> env;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--nproc", "0"}, {}, 2, "expected a positive process count or auto"},
      {{"--nproc", "2"}, {{"RANK", "0"}}, 1, "already rank 0 of a launched job"},
      {{}, {{"RANK", "0"}, {"WORLD_SIZE", "2"}}, 1, "environment variable MASTER_ADDR is not set"},
      {{"--nproc", "2", "--set", "train.batch_size=5"},
       {},
       1,
       "must be divisible by train.grad_accum (1) x processes (2)"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto log = dir.file("case" + std::to_string(i) + ".log");
    const pid_t pid = spawn(train_args(dir.file("run"), cases[i].extra), cases[i].env, log);
    EXPECT_EQ(wait_for(pid, std::chrono::seconds(120)), cases[i].code) << read_text(log);
    EXPECT_NE(read_text(log).find(cases[i].message), std::string::npos) << read_text(log);
  }
}
