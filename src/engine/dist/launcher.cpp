#include "pat/engine/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "pat/core/error.h"
#include "pat/core/log.h"

namespace pat::engine {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_signal_count = 0;

void on_launcher_signal(int signal) {
  g_signal = signal;
  g_signal_count = g_signal_count + 1;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  PAT_CHECK(fd >= 0, "launcher: cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  PAT_CHECK(ok, "launcher: cannot find a free port: ", std::strerror(errno));
  return ntohs(addr.sin_port);
}

std::vector<std::string> remove_flag(const std::vector<std::string>& args, const std::string& flag) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(flag + "=", 0) == 0) continue;
    kept.push_back(args[i]);
  }
  return kept;
}

int launch_local_workers(const std::vector<std::string>& args, const LaunchOptions& options) {
  PAT_CHECK(options.nproc >= 1, "--nproc: expected at least 1 process, got ", options.nproc);
  PAT_CHECK(!args.empty(), "launcher: no command to run");
  int port = options.master_port;
  if (port == 0) {
    const char* env_port = std::getenv("MASTER_PORT");
    port = env_port && *env_port ? std::atoi(env_port) : free_local_port();
  }
  PAT_CHECK(port > 0 && port < 65536, "launcher: MASTER_PORT must be in [1, 65535], got ", port);

  g_signal = 0;
  g_signal_count = 0;
  struct sigaction action {};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, nullptr);

  // Everything the workers need is prepared before fork: between fork and exec a child of a
  // multi-threaded process may only make async-signal-safe calls.
  std::vector<std::string> base_env;
  const std::vector<std::string> ours = {"RANK",        "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE",
                                         "MASTER_ADDR", "MASTER_PORT"};
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (std::find(ours.begin(), ours.end(), name) == ours.end()) base_env.push_back(entry);
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  static const char kExecFailed[] = "error: launcher: cannot start a worker (exec of /proc/self/exe failed)\n";

  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < options.nproc; ++rank) {
    std::vector<std::string> env = base_env;
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(options.nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(options.nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    PAT_CHECK(pid >= 0, "launcher: fork failed: ", std::strerror(errno));
    if (pid == 0) {
      // Worker: its own process group (a terminal's Ctrl-C reaches the launcher only, which forwards it
      // once) and SIGTERM when the launcher dies.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(1);
      for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, SIG_DFL);
      ::execve("/proc/self/exe", argv.data(), envp.data());
      [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  PAT_LOG_INFO("launched {} workers (ranks 0-{}), rendezvous at 127.0.0.1:{}", options.nproc, options.nproc - 1, port);

  using Clock = std::chrono::steady_clock;
  std::vector<bool> running(pids.size(), true);
  std::vector<bool> killed(pids.size(), false);
  int worst = 0, alive = static_cast<int>(pids.size());
  bool failed = false;
  int forwarded = 0;  // signals passed on so far
  Clock::time_point failed_at;
  int escalation = 0;  // 0: none, 1: SIGTERM sent, 2: SIGKILL sent
  auto signal_alive = [&](int sig, bool mark_killed) {
    for (size_t i = 0; i < pids.size(); ++i)
      if (running[i]) {
        ::kill(pids[i], sig);
        if (mark_killed) killed[i] = true;
      }
  };
  while (alive > 0) {
    if (g_signal_count > forwarded) {
      // Each signal once to every worker: a second Ctrl-C still kills a stuck worker (see signals.h).
      forwarded = g_signal_count;
      PAT_LOG_WARN("launcher: forwarding signal {} to the workers", static_cast<int>(g_signal));
      signal_alive(g_signal, false);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != pid || !running[i]) continue;
        running[i] = false;
        --alive;
        const int code = exit_code(status);
        if (!killed[i]) worst = std::max(worst, code);
        if (code != 0 && !failed && forwarded == 0) {
          failed = true;
          failed_at = Clock::now();
          if (alive > 0)
            PAT_LOG_ERROR("launcher: rank {} exited with status {}; waiting up to {} s for the other ranks to stop", i,
                          code, options.grace.count() / 1000.0);
        }
      }
      continue;
    }
    if (failed && alive > 0) {
      const auto waited = Clock::now() - failed_at;
      if (escalation == 0 && waited > options.grace) {
        PAT_LOG_ERROR("launcher: terminating the {} remaining worker(s)", alive);
        signal_alive(SIGTERM, true);
        escalation = 1;
      } else if (escalation == 1 && waited > 2 * options.grace) {
        signal_alive(SIGKILL, true);
        escalation = 2;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int s : {SIGINT, SIGTERM, SIGHUP}) std::signal(s, SIG_DFL);
  if (failed && worst == 0) worst = 1;
  return worst;
}

}  // namespace pat::engine
