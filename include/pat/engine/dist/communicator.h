#pragma once
/// \file Collectives over PyTorch's c10d process groups: ProcessGroupGloo (CPU; always) or
/// ProcessGroupNCCL (CUDA builds), joined through a c10d TCPStore that rank 0 hosts at
/// master_addr:master_port. A default-constructed communicator is the single-process case: every
/// collective is the identity, so callers need no special case.
///
/// Every collective blocks until done (or the timeout). A peer that dies closes its connections, so
/// the next collective on every other rank fails at once; a peer that hangs fails them after the
/// timeout. Either way the caller gets a `pat::Error` that names this rank and the operation.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pat/engine/dist/env.h"

namespace pat::engine {

struct CommunicatorOptions {
  /// auto (NCCL for a CUDA device when LibTorch has it, else Gloo) | gloo | nccl.
  std::string backend = "auto";
  /// Rendezvous and per-collective timeout: how long a rank waits for a missing or stuck peer.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
};

class Communicator {
 public:
  /// One process: rank 0 of 1, collectives are no-ops.
  Communicator();
  /// Joins the job described by `env` (all `env.world_size` processes must call this). Tensors passed
  /// to the collectives may live on the CPU or on `device`; NCCL moves CPU tensors to `device` and back.
  Communicator(const DistEnv& env, torch::Device device, const CommunicatorOptions& options = {});
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank 0: the one that logs and writes files.
  bool is_main() const { return rank_ == 0; }
  /// "none" (one process), "gloo" or "nccl".
  const std::string& backend() const { return backend_; }

  /// Sums `tensor` over ranks, in place (any shape; integer or floating).
  void all_reduce_sum(torch::Tensor& tensor);
  /// Sums each tensor over ranks in place, in one collective (all must share a dtype and device).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  /// Overwrites `tensor` with rank `root`'s.
  void broadcast(torch::Tensor& tensor, int root = 0);
  /// Every rank's `tensor` (same shape on all ranks) concatenated along dim 0 in rank order.
  torch::Tensor all_gather(const torch::Tensor& tensor);
  /// Returns once every rank has called it.
  void barrier();

  /// A sum started by `all_reduce_sum_async`; `wait` finishes it (and must be called, in the order started).
  class Pending {
   public:
    void wait();
    struct State;
    std::shared_ptr<State> state;
  };
  /// Starts summing `tensor` in place; the result is there after `wait()`.
  Pending all_reduce_sum_async(torch::Tensor& tensor);

  /// The c10d process group (private to the implementation; null for one process).
  struct Group;

 private:
  std::unique_ptr<Group> group_;
  int rank_ = 0;
  int size_ = 1;
  std::string backend_ = "none";
};

/// Whether this LibTorch build can run `backend` ("gloo" or "nccl").
bool dist_backend_available(const std::string& backend);

}  // namespace pat::engine
