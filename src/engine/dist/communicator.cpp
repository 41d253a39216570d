#include "pat/engine/dist/communicator.h"

#include <cstdlib>

#include <torch/torch.h>

#if defined(PAT_WITH_GLOO) || defined(PAT_WITH_NCCL)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef PAT_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef PAT_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "pat/core/error.h"
#include "pat/core/log.h"

namespace pat::engine {
namespace {

std::string error_text(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

}  // namespace

bool dist_backend_available(const std::string& backend) {
#ifdef PAT_WITH_GLOO
  if (backend == "gloo") return true;
#endif
#ifdef PAT_WITH_NCCL
  if (backend == "nccl") return torch::cuda::is_available();
#endif
  return false;
}

#if defined(PAT_WITH_GLOO) || defined(PAT_WITH_NCCL)

/// The process group behind a Communicator: c10d's ProcessGroupGloo / ProcessGroupNCCL, reached through a
/// template because their common base differs between LibTorch 1.x (ProcessGroup) and 2.x (Backend).
struct Communicator::Group {
  virtual ~Group() = default;
  virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t) = 0;
  virtual c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, int root) = 0;
  virtual c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out,
                                                   std::vector<at::Tensor>& in) = 0;
  c10::intrusive_ptr<c10d::Store> store;
  torch::Device device = torch::kCPU;
  bool needs_device = false;  ///< NCCL: collectives on `device` only
  std::chrono::milliseconds timeout{0};
  std::string where;  ///< "rank r of n" for error messages

  /// Runs `launch` and waits for its work; c10d errors become one-line `pat::Error`s.
  template <typename Launch>
  void run(const char* op, Launch&& launch) {
    try {
      auto work = launch();
      work->wait(timeout);
    } catch (const std::exception& e) {
      fail(op, e);
    }
  }
  [[noreturn]] void fail(const char* op, const std::exception& e) const {
    PAT_FAIL("distributed (", where, "): ", op, " failed; another rank stopped or did not answer within ",
             timeout.count() / 1000, " s (runtime.dist_timeout): ", error_text(e));
  }
};

namespace {

template <typename PG>
struct GroupOf : Communicator::Group {
  explicit GroupOf(c10::intrusive_ptr<PG> group) : pg(std::move(group)) {}
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t) override {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    return pg->allreduce(t, o);
  }
  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, int root) override {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    return pg->broadcast(t, o);
  }
  c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out,
                                           std::vector<at::Tensor>& in) override {
    return pg->allgather(out, in);
  }
  c10::intrusive_ptr<PG> pg;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace

#else

struct Communicator::Group {};

#endif

Communicator::Communicator() = default;
Communicator::~Communicator() = default;

Communicator::Communicator(const DistEnv& env, torch::Device device, const CommunicatorOptions& options)
    : rank_(env.rank), size_(env.world_size) {
  if (size_ == 1) return;
  PAT_CHECK(options.backend == "auto" || options.backend == "gloo" || options.backend == "nccl",
            "runtime.dist_backend: expected auto, gloo or nccl, got \"", options.backend, "\"");
  backend_ = options.backend;
  if (backend_ == "auto") backend_ = device.is_cuda() && dist_backend_available("nccl") ? "nccl" : "gloo";
  PAT_CHECK(dist_backend_available(backend_), "runtime.dist_backend: this LibTorch build has no ", backend_,
            " process group", backend_ == "nccl" ? " (NCCL needs a CUDA LibTorch and a GPU)" : "",
            "; it cannot train with ", size_, " processes");
#if defined(PAT_WITH_GLOO) || defined(PAT_WITH_NCCL)
  const std::string where = "rank " + std::to_string(rank_) + " of " + std::to_string(size_);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = rank_ == 0;
    so.numWorkers = static_cast<size_t>(size_);
    so.waitWorkers = true;
    so.timeout = options.timeout;
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    PAT_FAIL("distributed (", where, "): rendezvous at ", env.master_addr, ":", env.master_port,
             " failed (is the port free on rank 0, are all ", size_, " processes started?): ", error_text(e));
  }
  try {
#ifdef PAT_WITH_NCCL
    if (backend_ == "nccl") {
      // Make NCCL's watchdog abort a collective that outlives the timeout instead of hanging.
      ::setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      ::setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = options.timeout;
      group_ = std::make_unique<GroupOf<c10d::ProcessGroupNCCL>>(
          c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank_, size_, o));
      group_->needs_device = true;
    }
#endif
#ifdef PAT_WITH_GLOO
    if (backend_ == "gloo") {
      auto o = c10d::ProcessGroupGloo::Options::create(options.timeout);
      if (const char* names = std::getenv("GLOO_SOCKET_IFNAME"); names && *names) {
        std::string list = names;
        for (size_t start = 0; start <= list.size();) {
          const size_t comma = std::min(list.find(',', start), list.size());
          o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(list.substr(start, comma - start)));
          start = comma + 1;
        }
      } else if (is_loopback(env.master_addr)) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      group_ = std::make_unique<GroupOf<c10d::ProcessGroupGloo>>(
          c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank_, size_, o));
    }
#endif
  } catch (const std::exception& e) {
    PAT_FAIL("distributed (", where, "): creating the ", backend_, " process group failed: ", error_text(e));
  }
  PAT_ASSERT(group_ != nullptr);
  group_->store = store;
  group_->device = device;
  group_->timeout = options.timeout;
  group_->where = where;
  PAT_LOG_DEBUG("distributed: {} joined via {}:{} ({})", where, env.master_addr, env.master_port, backend_);
#else
  (void)device;
#endif
}

#if defined(PAT_WITH_GLOO) || defined(PAT_WITH_NCCL)

namespace {

/// NCCL reduces device tensors only: a CPU tensor goes through a device copy.
torch::Tensor staged(const Communicator::Group& g, const torch::Tensor& t) {
  return g.needs_device && t.device() != g.device ? t.to(g.device) : t;
}

void unstage(torch::Tensor& target, const torch::Tensor& staged_copy) {
  if (!staged_copy.is_same(target)) target.copy_(staged_copy);
}

}  // namespace

struct Communicator::Pending::State {
  Communicator::Group* group = nullptr;
  c10::intrusive_ptr<c10d::Work> work;
  torch::Tensor target, buffer;
};

void Communicator::Pending::wait() {
  if (!state) return;
  auto& s = *state;
  try {
    s.work->wait(s.group->timeout);
  } catch (const std::exception& e) {
    s.group->fail("all_reduce", e);
  }
  unstage(s.target, s.buffer);
  state.reset();
}

Communicator::Pending Communicator::all_reduce_sum_async(torch::Tensor& tensor) {
  Pending pending;
  if (!group_) return pending;
  auto state = std::make_shared<Pending::State>();
  state->group = group_.get();
  state->target = tensor;
  state->buffer = staged(*group_, tensor.contiguous());
  std::vector<at::Tensor> list{state->buffer};
  try {
    state->work = group_->allreduce(list);
  } catch (const std::exception& e) {
    group_->fail("all_reduce", e);
  }
  pending.state = std::move(state);
  return pending;
}

void Communicator::all_reduce_sum(torch::Tensor& tensor) {
  all_reduce_sum_async(tensor).wait();
}

void Communicator::broadcast(torch::Tensor& tensor, int root) {
  if (!group_) return;
  auto buffer = staged(*group_, tensor.contiguous());
  std::vector<at::Tensor> list{buffer};
  group_->run("broadcast", [&] { return group_->broadcast(list, root); });
  unstage(tensor, buffer);
}

torch::Tensor Communicator::all_gather(const torch::Tensor& tensor) {
  if (!group_) return tensor.clone();
  std::vector<at::Tensor> input{staged(*group_, tensor.contiguous())};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < size_; ++r) output[0].push_back(torch::empty_like(input[0]));
  group_->run("all_gather", [&] { return group_->allgather(output, input); });
  return torch::cat(output[0], 0).to(tensor.device());
}

#else

struct Communicator::Pending::State {};
void Communicator::Pending::wait() {}
Communicator::Pending Communicator::all_reduce_sum_async(torch::Tensor&) {
  return {};
}
void Communicator::all_reduce_sum(torch::Tensor&) {}
void Communicator::broadcast(torch::Tensor&, int) {}
torch::Tensor Communicator::all_gather(const torch::Tensor& tensor) {
  return tensor.clone();
}

#endif

void Communicator::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (size_ == 1 || tensors.empty()) return;
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) {
    PAT_ASSERT(t.scalar_type() == tensors[0].scalar_type() && t.device() == tensors[0].device(),
               "all_reduce_sum: tensors of one call must share dtype and device");
    flat.push_back(t.reshape(-1));
  }
  auto buffer = torch::cat(flat);
  all_reduce_sum(buffer);
  int64_t offset = 0;
  for (auto& t : tensors) {
    t.copy_(buffer.narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

void Communicator::barrier() {
  auto token = torch::ones({1});
  all_reduce_sum(token);
}

}  // namespace pat::engine
