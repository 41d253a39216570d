#pragma once
/// \file Data parallelism over a Communicator, as PyTorch's DistributedDataParallel does it: rank 0's
/// parameters and buffers copied to every rank at the start, gradients averaged over ranks in flat
/// buckets after each backward, and a check that the ranks still hold the same model.

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "pat/engine/dist/communicator.h"
#include "pat/model/pat/pyramid_tokenizer.h"

namespace pat::engine {

/// Overwrites every parameter and buffer of `module` with rank 0's.
void broadcast_module(Communicator& comm, torch::nn::Module& module);

/// Replaces the gradient of each of `params` by its mean over ranks. Gradients travel in flat buckets of
/// about `bucket_bytes`, each bucket's sum started before the next is packed. A parameter with a
/// gradient on some ranks only gets a zero gradient where it has none; one without a gradient on every
/// rank keeps none (so the optimizer skips it, as it would in one process).
void average_gradients(Communicator& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes = 25 << 20);

/// True on every rank when all ranks hold bitwise the same parameters and buffers of `module`
/// (compared through an exact per-tensor checksum of the bits).
bool module_agrees_across_ranks(Communicator& comm, const torch::nn::Module& module);

/// Makes every quantizer of `tokenizer` keep one codebook on all ranks, the one a single process with
/// the global batch would keep: batch statistics summed over ranks, dead codes re-seeded from all ranks'
/// inputs with rank 0's choice. `comm` must outlive the hooks (remove them with empty functions).
void sync_codebooks(Communicator& comm, model::PyramidTokenizerImpl& tokenizer);
/// The same for one quantizer.
void sync_codebooks(Communicator& comm, model::QuantizerImpl& quantizer);

}  // namespace pat::engine
