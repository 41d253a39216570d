#pragma once
/// \file `pat_train --nproc N`: a single-node launcher in the manner of torchrun. It starts N copies of
/// this program with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
/// MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM/SIGHUP to them once, and when one fails gives the
/// others `grace` to stop on their own (they notice the lost peer at their next collective) before
/// terminating them.

#include <chrono>
#include <string>
#include <vector>

namespace pat::engine {

struct LaunchOptions {
  /// Worker processes to start, >= 1.
  int nproc = 1;
  /// Rendezvous port; 0 = MASTER_PORT from the environment, else a free port.
  int master_port = 0;
  /// After a worker fails: how long the others may take to stop by themselves before SIGTERM (and as
  /// long again before SIGKILL).
  std::chrono::milliseconds grace = std::chrono::seconds(30);
};

/// Runs `args` (args[0] is replaced by this executable, /proc/self/exe) as `nproc` workers and waits
/// for all of them. Returns the worst exit status (the highest; a worker killed by signal S counts as
/// 128 + S; workers this launcher had to kill after another failed do not count), 0 when all succeed.
int launch_local_workers(const std::vector<std::string>& args, const LaunchOptions& options);

/// A TCP port that was free a moment ago on the loopback interface (the launcher's rendezvous port).
int free_local_port();

/// `args` without `flag` and its value ("--flag V" or "--flag=V").
std::vector<std::string> remove_flag(const std::vector<std::string>& args, const std::string& flag);

}  // namespace pat::engine
