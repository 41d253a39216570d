#pragma once
/// \file The flag handling every PAT tool shares: `--config`, `--set`, `--print-config`, `--version`,
/// runtime set-up, and the error policy (one `error: ...` line on stderr, non-zero exit).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>
#include <CLI/CLI.hpp>

#include "pat/config/config.h"
#include "pat/engine/dist/communicator.h"

namespace pat::app {

/// Flags of every config-driven tool.
struct ConfigFlags {
  std::string config;                  ///< --config FILE
  std::vector<std::string> overrides;  ///< --set key.path=value (repeatable)
  bool print_config = false;           ///< --print-config: print the resolved YAML and exit
};

/// A CLI11 app named `name` with `description`, `--version` (PAT and LibTorch versions) and help footer.
std::unique_ptr<CLI::App> make_app(const std::string& name, const std::string& description);

/// Adds --config (required unless `config_required` is false), --set and --print-config.
void add_config_flags(CLI::App& app, ConfigFlags& flags, bool config_required = true);

/// Loads the config named by the flags (defaults + overrides when no file is given).
Config load_config(const ConfigFlags& flags);

/// Applies `runtime:` (log level, threads, seed) and returns the device to run on.
torch::Device apply_runtime(const RuntimeConfig& runtime);

/// One process of a job (possibly the only one).
struct Worker {
  engine::DistEnv env;                         ///< rank, world size, ... (from torchrun / SLURM / --nproc)
  torch::Device device = torch::kCPU;          ///< CUDA: the GPU of the local rank
  std::shared_ptr<engine::Communicator> comm;  ///< never null (the identity for one process)
};

/// `apply_runtime` for one process of a job launched by torchrun, SLURM or `pat_train --nproc` (or of
/// no job): the CPU cores shared among the node's processes when `runtime.threads` is 0, CUDA device =
/// local rank, console logging on rank 0 only (the other ranks report errors), then joins the c10d
/// process group.
Worker start_worker(const RuntimeConfig& runtime);

/// Adds `--nproc N|auto` (run as N local data-parallel processes; auto = one per GPU) to `app`.
void add_nproc_flag(CLI::App& app, std::string& nproc, const std::string& what);

/// With `nproc` set (by `add_nproc_flag`): starts this command line without --nproc as that many local
/// worker processes (engine/dist_launcher.h) and returns the launcher's exit status; nullopt otherwise.
std::optional<int> launch_workers(const std::string& nproc, int argc, char** argv, const RuntimeConfig& runtime);

/// Parses `argv` with `app` and runs `body`. Help and version print and return 0; a flag error or any
/// exception prints one line `error: <message>` on stderr and returns 2 (flags) or 1 (everything else).
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

/// Splits a comma-separated list ("cat,sofa, dining table"), trimming spaces; empty items are kept
/// (as "") so that callers can report them.
std::vector<std::string> split_list(const std::string& text);

}  // namespace pat::app
