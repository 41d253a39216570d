#include "pat/engine/dist/env.h"

#include <cstdlib>

#include "pat/core/error.h"

namespace pat::engine {
namespace {

int parse_int(const char* name, const char* text, int low, int high) {
  const std::string value = text;
  size_t used = 0;
  long parsed = -1;
  try {
    parsed = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  PAT_CHECK(used == value.size() && !value.empty() && parsed >= low && parsed <= high, "environment variable ", name,
            ": expected an integer in [", low, ", ", high, "], got \"", value, "\"");
  return static_cast<int>(parsed);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at the first comma outside brackets; each bracket group of it contributes the
  // first number of its first range, zero padding kept: "rack[2,4]-n[01-02]" -> "rack2-n01".
  std::string host;
  for (size_t i = 0; i < nodelist.size() && nodelist[i] != ','; ++i) {
    if (nodelist[i] != '[') {
      PAT_CHECK(nodelist[i] != ']', "SLURM node list: unbalanced ']' in \"", nodelist, "\"");
      host += nodelist[i];
      continue;
    }
    const size_t close = nodelist.find(']', i);
    PAT_CHECK(close != std::string::npos, "SLURM node list: unbalanced '[' in \"", nodelist, "\"");
    const std::string ranges = nodelist.substr(i + 1, close - i - 1);
    const std::string first = ranges.substr(0, ranges.find_first_of(",-"));
    PAT_CHECK(!first.empty(), "SLURM node list: empty range in \"", nodelist, "\"");
    host += first;
    i = close;
  }
  PAT_CHECK(!host.empty(), "SLURM node list: expected \"host\" or \"prefix[range,...]\", got \"", nodelist, "\"");
  return host;
}

DistEnv read_dist_env(const std::function<const char*(const char*)>& lookup) {
  auto get = [&](const char* name) -> const char* {
    const char* value = lookup ? lookup(name) : std::getenv(name);
    return value && *value ? value : nullptr;
  };
  DistEnv env;
  if (get("RANK") || get("WORLD_SIZE")) {
    for (const char* name : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      PAT_CHECK(get(name), "environment variable ", name,
                " is not set: a torchrun-style launch needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT");
    env.source = "torchrun";
    env.world_size = parse_int("WORLD_SIZE", get("WORLD_SIZE"), 1, 1 << 20);
    env.rank = parse_int("RANK", get("RANK"), 0, env.world_size - 1);
    env.local_rank = get("LOCAL_RANK") ? parse_int("LOCAL_RANK", get("LOCAL_RANK"), 0, env.world_size - 1) : env.rank;
    env.local_world_size = get("LOCAL_WORLD_SIZE")
                               ? parse_int("LOCAL_WORLD_SIZE", get("LOCAL_WORLD_SIZE"), 1, env.world_size)
                               : env.world_size;
    env.master_addr = get("MASTER_ADDR");
    env.master_port = parse_int("MASTER_PORT", get("MASTER_PORT"), 1, 65535);
  } else if (get("SLURM_PROCID") && get("SLURM_NTASKS")) {
    env.source = "slurm";
    env.world_size = parse_int("SLURM_NTASKS", get("SLURM_NTASKS"), 1, 1 << 20);
    env.rank = parse_int("SLURM_PROCID", get("SLURM_PROCID"), 0, env.world_size - 1);
    env.local_rank = get("SLURM_LOCALID") ? parse_int("SLURM_LOCALID", get("SLURM_LOCALID"), 0, env.world_size - 1) : 0;
    if (const char* per_node = get("SLURM_NTASKS_PER_NODE")) {
      // "4" or "4(x2)" (SLURM_TASKS_PER_NODE style): the leading count.
      std::string count = per_node;
      count = count.substr(0, count.find('('));
      env.local_world_size = parse_int("SLURM_NTASKS_PER_NODE", count.c_str(), 1, env.world_size);
    } else {
      env.local_world_size = 1;
    }
    if (const char* addr = get("MASTER_ADDR")) {
      env.master_addr = addr;
    } else {
      const char* nodes = get("SLURM_STEP_NODELIST") ? get("SLURM_STEP_NODELIST") : get("SLURM_JOB_NODELIST");
      PAT_CHECK(nodes || env.world_size == 1,
                "SLURM: neither SLURM_STEP_NODELIST nor SLURM_JOB_NODELIST is set (set MASTER_ADDR instead)");
      if (nodes) env.master_addr = first_slurm_host(nodes);
    }
    if (const char* port = get("MASTER_PORT")) {
      env.master_port = parse_int("MASTER_PORT", port, 1, 65535);
    } else if (const char* job = get("SLURM_JOB_ID")) {
      env.master_port = 20000 + static_cast<int>(std::strtoull(job, nullptr, 10) % 20000);
    }
  }
  return env;
}

}  // namespace pat::engine
