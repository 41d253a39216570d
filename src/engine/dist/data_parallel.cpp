#include "pat/engine/dist/data_parallel.h"

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::engine {
namespace {

std::vector<torch::Tensor> state_tensors(const torch::nn::Module& module) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.named_parameters()) tensors.push_back(p.value());
  for (const auto& b : module.named_buffers()) tensors.push_back(b.value());
  return tensors;
}

}  // namespace

void broadcast_module(Communicator& comm, torch::nn::Module& module) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& t : state_tensors(module)) comm.broadcast(t, 0);
}

void average_gradients(Communicator& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  if (comm.size() == 1 || params.empty()) return;
  torch::NoGradGuard no_grad;
  // Which parameters have a gradient anywhere (the same on every rank in practice; cheap to make sure).
  auto has_grad = torch::zeros({static_cast<int64_t>(params.size())}, torch::kInt32);
  for (size_t i = 0; i < params.size(); ++i) has_grad[static_cast<int64_t>(i)] = params[i].grad().defined() ? 1 : 0;
  comm.all_reduce_sum(has_grad);
  std::vector<torch::Tensor> grads;
  const auto flags = has_grad.accessor<int32_t, 1>();
  for (size_t i = 0; i < params.size(); ++i) {
    if (flags[static_cast<int64_t>(i)] == 0) continue;
    auto& p = const_cast<torch::Tensor&>(params[i]);
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Buckets of consecutive gradients with one dtype and device.
  struct Bucket {
    std::vector<torch::Tensor> grads;
    torch::Tensor flat;
    Communicator::Pending pending;
  };
  std::vector<Bucket> buckets;
  auto launch = [&](Bucket& b) {
    std::vector<torch::Tensor> views;
    for (const auto& g : b.grads) views.push_back(g.reshape(-1));
    b.flat = torch::cat(views);
    b.pending = comm.all_reduce_sum_async(b.flat);
  };
  Bucket current;
  int64_t bytes = 0;
  for (const auto& g : grads) {
    const bool compatible = current.grads.empty() || (g.scalar_type() == current.grads[0].scalar_type() &&
                                                      g.device() == current.grads[0].device());
    if (!current.grads.empty() && (!compatible || bytes >= bucket_bytes)) {
      buckets.push_back(std::move(current));
      launch(buckets.back());
      current = Bucket{};
      bytes = 0;
    }
    current.grads.push_back(g);
    bytes += g.numel() * static_cast<int64_t>(g.element_size());
  }
  if (!current.grads.empty()) {
    buckets.push_back(std::move(current));
    launch(buckets.back());
  }
  const double scale = 1.0 / comm.size();
  for (auto& b : buckets) {
    b.pending.wait();
    b.flat.mul_(scale);
    int64_t offset = 0;
    for (auto& g : b.grads) {
      g.copy_(b.flat.narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

bool module_agrees_across_ranks(Communicator& comm, const torch::nn::Module& module) {
  if (comm.size() == 1) return true;
  torch::NoGradGuard no_grad;
  // An exact, order-independent checksum of each tensor's bits: sum of bits * (index mod 8191 + 1) in
  // wrapping int64 arithmetic, so any thread count gives the same value.
  std::vector<torch::Tensor> sums;
  for (const auto& t : state_tensors(module)) {
    auto flat = t.detach().to(torch::kCPU).contiguous().reshape(-1);
    switch (flat.element_size()) {
      case 8:
        flat = flat.view(torch::kInt64);
        break;
      case 4:
        flat = flat.view(torch::kInt32);
        break;
      case 2:
        flat = flat.view(torch::kInt16);
        break;
      default:
        flat = flat.view(torch::kUInt8);
        break;
    }
    auto weights = torch::arange(flat.numel(), torch::kInt64).remainder_(8191).add_(1);
    sums.push_back((flat.to(torch::kInt64) * weights).sum().reshape({1}));
  }
  if (sums.empty()) return true;
  auto mine = torch::cat(sums);
  auto all = comm.all_gather(mine.unsqueeze(0));
  return all.eq(mine.unsqueeze(0)).all().item<bool>();
}

void sync_codebooks(Communicator& comm, model::QuantizerImpl& quantizer) {
  if (comm.size() == 1) return;
  Communicator* c = &comm;
  quantizer.set_stats_reducer([c](std::vector<torch::Tensor>& stats) { c->all_reduce_sum(stats); });
  quantizer.set_restart_pool([c](const torch::Tensor& rows) { return c->all_gather(rows); });
  quantizer.set_restart_sync([c](torch::Tensor& chosen) { c->broadcast(chosen, 0); });
}

void sync_codebooks(Communicator& comm, model::PyramidTokenizerImpl& tokenizer) {
  for (const int64_t level : tokenizer.options().levels) sync_codebooks(comm, *tokenizer.quantizer(level));
}

}  // namespace pat::engine
