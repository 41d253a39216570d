#pragma once
/// \file Multi-threaded batch loader: worker threads read and transform samples, a bounded prefetch
/// queue, deterministic shuffling, sharding over ranks and exact resume.
///
/// The global sample stream is the concatenation of per-epoch orders (a seeded permutation of the
/// dataset per epoch, or the identity). Global batch k covers stream positions
/// [start + k·G, start + (k+1)·G) with G = batch_size · world_size; rank r takes the r-th slice of
/// batch_size positions. So one process with batch N·b yields, as its batch k, the concatenation of
/// the N ranks' batches k (batch_size b). Each sample's augmentation generator is seeded from
/// (seed, epoch, dataset index) only, so results do not depend on the worker count, batch size or
/// rank.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pat/data/dataset.h"
#include "pat/data/transforms.h"

namespace pat::data {

/// A position in the global sample stream: `position` samples of epoch `epoch` are consumed.
struct LoaderState {
  int64_t epoch = 0;
  int64_t position = 0;
  bool operator==(const LoaderState& o) const { return epoch == o.epoch && position == o.position; }
};

struct LoaderOptions {
  /// Samples per batch on this rank.
  int64_t batch_size = 1;
  /// Worker threads; 0 loads in the calling thread.
  int num_workers = 2;
  /// Batches decoded ahead of the consumer (bounded queue), >= 1.
  int prefetch_batches = 4;
  /// Seeded permutation per epoch (else dataset order).
  bool shuffle = true;
  /// Seeds the shuffles and the per-sample augmentation generators.
  uint64_t seed = 0;
  /// Endless stream over epochs (training; batches may span an epoch boundary). Otherwise the loader
  /// stops at the end of epoch `start.epoch`.
  bool repeat = false;
  /// Without `repeat`: drop the final incomplete global batch.
  bool drop_last = false;
  /// This process's rank and the number of ranks.
  int rank = 0;
  int world_size = 1;
  /// Where to start (a state saved from `Loader::state()` resumes exactly).
  LoaderState start = {};
};

/// A collated batch.
struct Batch {
  /// [B, 3, H, W] float32, RGB in 0..255 (normalization is the model's job).
  torch::Tensor images;
  /// [B, H, W] int64 class ids (ignore value as in the dataset); undefined when samples have no label.
  torch::Tensor labels;
  /// Per sample: dataset index, epoch, basename, image path, size as read (H, W).
  std::vector<int64_t> indices;
  std::vector<int64_t> epochs;
  std::vector<std::string> names;
  std::vector<std::string> image_paths;
  std::vector<std::pair<int, int>> original_sizes;
  /// Per sample: its caption (empty strings when the dataset has none).
  std::vector<std::string> captions;
  /// Stream position after this batch (the state to save for resuming after it).
  LoaderState state;
};

/// Collates transformed samples; all images (and all labels) must share one size.
Batch collate(const std::vector<Sample>& samples);

/// The order of epoch `epoch`: a permutation of [0, n) seeded by (seed, epoch), or the identity. With `group`
/// > 1 the permutation moves whole groups of `group` consecutive indices and keeps each group's order.
std::vector<int64_t> epoch_order(size_t n, uint64_t seed, int64_t epoch, bool shuffle, int64_t group = 1);

class Loader {
 public:
  /// `transform` may be null (no transform).
  Loader(std::shared_ptr<const Dataset> dataset, TransformPtr transform, LoaderOptions options);
  /// Stops and joins the workers (also when batches are still queued).
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// The next batch, or nullopt at the end of a non-repeating stream. A failure in a worker is
  /// rethrown here as `pat::Error` naming the file; the loader then stays failed.
  std::optional<Batch> next();

  /// The stream position after the last batch returned (the start state before the first).
  LoaderState state() const;

  /// Batches this rank yields in one non-repeating epoch from position 0 (-1 with `repeat`).
  int64_t batches_per_epoch() const;

  const LoaderOptions& options() const { return options_; }

 private:
  struct Impl;
  LoaderOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pat::data
