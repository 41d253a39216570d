#pragma once
/// \file Helpers for the distributed tests: N ranks of a job run as threads of this
/// process (each with its own Communicator over Gloo on the loopback interface).

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pat/engine/dist/communicator.h"
#include "pat/engine/dist/launcher.h"

namespace pat::test {

inline engine::DistEnv rank_env(int rank, int world, int port) {
  engine::DistEnv env;
  env.rank = env.local_rank = rank;
  env.world_size = env.local_world_size = world;
  env.master_port = port;
  env.source = "test";
  return env;
}

/// Runs `body(comm)` on `world` threads, one rank each; an exception on any rank fails the test.
/// backend "nccl": rank r works on GPU r.
inline void run_ranks(int world, const std::function<void(engine::Communicator&)>& body,
                      const std::string& backend = "gloo") {
  const int port = engine::free_local_port();
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        engine::CommunicatorOptions options;
        options.backend = backend;
        options.timeout = std::chrono::seconds(30);
        const torch::Device device =
            backend == "nccl" ? torch::Device(torch::kCUDA, static_cast<int8_t>(r)) : torch::Device(torch::kCPU);
        engine::Communicator comm(rank_env(r, world, port), device, options);
        body(comm);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

}  // namespace pat::test
