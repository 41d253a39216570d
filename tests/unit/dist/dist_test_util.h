#pragma once
/// \file Helpers for the distributed tests: a free port, and N ranks of a job run as threads of this
/// process (each with its own Communicator over Gloo on the loopback interface).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pat/engine/dist_communicator.h"

namespace pat::test {

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

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
  const int port = free_port();
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
