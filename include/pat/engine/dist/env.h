#pragma once
/// \file Where this process sits in a distributed job, read from the launcher's environment: torchrun's
/// contract (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`; also what
/// `pat_train --nproc` sets) or SLURM's (`SLURM_PROCID`, `SLURM_NTASKS`, `SLURM_LOCALID`,
/// `SLURM_NTASKS_PER_NODE`, the first host of `SLURM_STEP_NODELIST` / `SLURM_JOB_NODELIST`, the port
/// 20000 + job id mod 20000 unless `MASTER_ADDR` / `MASTER_PORT` are set). Neither = one process.

#include <functional>
#include <string>

namespace pat::engine {

struct DistEnv {
  int rank = 0;                           ///< global rank, in [0, world_size)
  int world_size = 1;                     ///< processes in the job
  int local_rank = 0;                     ///< rank on this node (selects the GPU)
  int local_world_size = 1;               ///< processes on this node (shares the CPU cores)
  std::string master_addr = "127.0.0.1";  ///< host of rank 0 (the rendezvous store)
  int master_port = 29500;                ///< port of the rendezvous store
  std::string source = "single";          ///< single | torchrun | slurm
  bool distributed() const { return world_size > 1; }
};

/// Reads the environment through `lookup` (getenv by default; tests pass a map). Malformed or
/// inconsistent values (RANK without WORLD_SIZE, rank >= world size, a bad port) are a `pat::Error`
/// naming the variable.
DistEnv read_dist_env(const std::function<const char*(const char*)>& lookup = {});

/// The first host of a SLURM node list: "gpu[03-05,9],cpu1" -> "gpu03", "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace pat::engine
