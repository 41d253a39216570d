#include "pat/data/loader.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/log.h"

namespace pat::data {

Batch collate(const std::vector<Sample>& samples) {
  PAT_CHECK(!samples.empty(), "collate: no samples");
  const auto& first = samples.front();
  const int h = first.image.rows, w = first.image.cols;
  const bool has_labels = !first.label.empty();
  Batch b;
  const int64_t n = int64_t(samples.size());
  b.images = torch::empty({n, 3, h, w}, torch::kFloat32);
  if (has_labels) b.labels = torch::empty({n, first.label.rows, first.label.cols}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    const Sample& s = samples[size_t(i)];
    PAT_CHECK(s.image.type() == CV_8UC3, "collate: sample ", s.name, " is not an RGB uint8 image");
    PAT_CHECK(s.image.rows == h && s.image.cols == w, "collate: cannot batch images of different sizes (", first.name,
              " is ", w, "x", h, ", ", s.name, " is ", s.image.cols, "x", s.image.rows,
              "); use batch_size 1 or a fixed-size transform");
    PAT_CHECK(s.label.empty() != has_labels, "collate: some samples have labels and some do not (", s.name, ")");
    cv::Mat img = s.image.isContinuous() ? s.image : s.image.clone();
    b.images[i].copy_(torch::from_blob(img.data, {h, w, 3}, torch::kUInt8).permute({2, 0, 1}));
    if (has_labels) {
      PAT_CHECK(s.label.type() == CV_32SC1, "collate: label of ", s.name, " is not int32");
      PAT_CHECK(s.label.size() == first.label.size(), "collate: cannot batch label maps of different sizes (",
                first.name, ", ", s.name, "); use batch_size 1 or resize the labels");
      cv::Mat lab = s.label.isContinuous() ? s.label : s.label.clone();
      b.labels[i].copy_(torch::from_blob(lab.data, {lab.rows, lab.cols}, torch::kInt32));
    }
    b.indices.push_back(s.index);
    b.names.push_back(s.name);
    b.image_paths.push_back(s.image_path);
    b.captions.push_back(s.caption);
    b.original_sizes.emplace_back(s.original_height, s.original_width);
  }
  return b;
}

std::vector<int64_t> epoch_order(size_t n, uint64_t seed, int64_t epoch, bool shuffle, int64_t group) {
  PAT_CHECK(group >= 1 && n % size_t(group) == 0, "loader: ", n, " samples do not split into groups of ", group);
  std::vector<int64_t> order(n / size_t(group));
  std::iota(order.begin(), order.end(), int64_t(0));
  if (shuffle) {
    Rng rng(mix64(seed ^ 0x0DDBA11CAFEull) ^ mix64(uint64_t(epoch)));
    rng.shuffle(order);
  }
  if (group == 1) return order;
  std::vector<int64_t> samples;
  samples.reserve(n);
  for (int64_t g : order)
    for (int64_t k = 0; k < group; ++k) samples.push_back(g * group + k);
  return samples;
}

struct Loader::Impl {
  struct Item {
    int64_t epoch, index;
  };
  struct Pending {
    std::vector<Item> items;
    std::vector<Sample> samples;
    size_t remaining = 0;
    std::exception_ptr error;
    std::optional<Batch> batch;
    bool done = false;
    LoaderState end_state;
  };

  std::shared_ptr<const Dataset> dataset;
  TransformPtr transform;
  LoaderOptions o;
  int64_t n = 0, global_batch = 0;

  std::mutex mu;
  std::condition_variable cv_work, cv_done;
  std::deque<std::shared_ptr<Pending>> queue;                     // opened batches, in order
  std::deque<std::pair<std::shared_ptr<Pending>, size_t>> tasks;  // samples to load
  std::map<int64_t, std::vector<int64_t>> orders;
  int64_t opened = 0;
  bool exhausted = false, stop = false;
  std::exception_ptr failed;
  LoaderState state;
  std::vector<std::thread> threads;

  const std::vector<int64_t>& order_locked(int64_t epoch) {
    auto it = orders.find(epoch);
    if (it == orders.end()) {
      while (!orders.empty() && orders.begin()->first < epoch - 1) orders.erase(orders.begin());
      it = orders.emplace(epoch, epoch_order(size_t(n), o.seed, epoch, o.shuffle, dataset->sample_group())).first;
    }
    return it->second;
  }

  /// Builds batch `opened` for this rank, or marks the stream exhausted.
  void open_batches_locked(size_t limit) {
    while (!exhausted && queue.size() < limit) {
      const int64_t k = opened;
      const int64_t base = o.start.position + k * global_batch;  // absolute position in start.epoch's frame
      int64_t gs = base + o.rank * o.batch_size, ge = gs + o.batch_size, end = base + global_batch;
      if (!o.repeat) {
        if (base >= n || (o.drop_last && end > n)) {
          exhausted = true;
          break;
        }
        gs = std::min(gs, n);
        ge = std::min(ge, n);
        end = std::min(end, n);
        if (gs >= ge) {  // this rank has no share of the final global batch
          exhausted = true;
          break;
        }
      }
      auto p = std::make_shared<Pending>();
      for (int64_t pos = gs; pos < ge; ++pos) {
        const int64_t epoch = o.start.epoch + pos / n;
        p->items.push_back({epoch, order_locked(epoch)[size_t(pos % n)]});
      }
      p->samples.resize(p->items.size());
      p->remaining = p->items.size();
      p->end_state = {o.start.epoch + end / n, end % n};
      for (size_t i = 0; i < p->items.size(); ++i) tasks.emplace_back(p, i);
      queue.push_back(p);
      ++opened;
      cv_work.notify_all();
    }
  }

  void finalize(const std::shared_ptr<Pending>& p) {
    std::optional<Batch> batch;
    std::exception_ptr error = p->error;
    if (!error) {
      try {
        batch = collate(p->samples);
        batch->state = p->end_state;
        for (const auto& it : p->items) batch->epochs.push_back(it.epoch);
      } catch (...) {
        error = std::current_exception();
      }
    }
    {
      std::lock_guard<std::mutex> lk(mu);
      p->batch = std::move(batch);
      p->error = error;
      p->samples.clear();
      p->done = true;
    }
    cv_done.notify_all();
  }

  void run_task(const std::shared_ptr<Pending>& p, size_t slot) {
    const Item item = p->items[slot];
    Sample s;
    std::exception_ptr error;
    std::string stage = "reading";
    try {
      s = dataset->get(size_t(item.index));
      stage = "transforming";
      Rng rng = Rng::for_sample(o.seed, item.epoch, item.index);
      if (transform) transform->apply(s, rng);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      const std::string& file = s.image_path;
      if (dynamic_cast<const pat::Error*>(&e) != nullptr &&
          (stage == "reading" || (!file.empty() && what.find(file) != std::string::npos))) {
        error = std::current_exception();
      } else {
        const std::string who =
            file.empty() ? "sample " + std::to_string(item.index) + " of dataset " + dataset->name() : file;
        error = std::make_exception_ptr(pat::Error("loader: " + stage + " " + who + ": " + what));
      }
    } catch (...) {
      error = std::make_exception_ptr(pat::Error("loader: unknown failure on sample " + std::to_string(item.index)));
    }
    bool last = false;
    {
      std::lock_guard<std::mutex> lk(mu);
      p->samples[slot] = std::move(s);
      if (error && !p->error) p->error = error;
      last = --p->remaining == 0;
    }
    if (last) finalize(p);
  }

  void worker_loop() {
    while (true) {
      std::pair<std::shared_ptr<Pending>, size_t> task;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv_work.wait(lk, [&] { return stop || !tasks.empty(); });
        if (stop) return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      run_task(task.first, task.second);
    }
  }
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, TransformPtr transform, LoaderOptions options)
    : options_(options), impl_(std::make_unique<Impl>()) {
  PAT_CHECK(dataset != nullptr, "loader: no dataset");
  PAT_CHECK(dataset->size() > 0, "loader: dataset ", dataset->name(), " is empty");
  PAT_CHECK(options.batch_size >= 1, "loader: batch_size must be >= 1, got ", options.batch_size);
  PAT_CHECK(options.num_workers >= 0, "loader: num_workers must be >= 0, got ", options.num_workers);
  PAT_CHECK(options.prefetch_batches >= 1, "loader: prefetch_batches must be >= 1, got ", options.prefetch_batches);
  PAT_CHECK(options.world_size >= 1 && options.rank >= 0 && options.rank < options.world_size, "loader: rank ",
            options.rank, " is not in [0, world_size=", options.world_size, ")");
  PAT_CHECK(options.start.epoch >= 0 && options.start.position >= 0, "loader: bad start state (epoch ",
            options.start.epoch, ", position ", options.start.position, ")");
  const int64_t group = dataset->sample_group();
  PAT_CHECK(options.batch_size % group == 0 && options.start.position % group == 0, "loader: dataset ", dataset->name(),
            " comes in groups of ", group, " samples; batch_size (", options.batch_size, ") and the start position (",
            options.start.position, ") must be multiples of it");
  auto& d = *impl_;
  d.dataset = std::move(dataset);
  d.transform = std::move(transform);
  d.n = int64_t(d.dataset->size());
  // Normalise the start so that position < n.
  options_.start.epoch += options_.start.position / d.n;
  options_.start.position %= d.n;
  d.o = options_;
  d.global_batch = options_.batch_size * options_.world_size;
  d.state = options_.start;
  for (int i = 0; i < options_.num_workers; ++i) d.threads.emplace_back([&d] { d.worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv_work.notify_all();
  impl_->cv_done.notify_all();
  for (auto& t : impl_->threads) t.join();
}

std::optional<Batch> Loader::next() {
  auto& d = *impl_;
  std::unique_lock<std::mutex> lk(d.mu);
  if (d.failed) std::rethrow_exception(d.failed);
  const bool sync = d.threads.empty();
  d.open_batches_locked(sync ? 1 : size_t(options_.prefetch_batches));
  if (d.queue.empty()) return std::nullopt;
  auto p = d.queue.front();
  if (sync) {
    while (!d.tasks.empty()) {
      auto task = std::move(d.tasks.front());
      d.tasks.pop_front();
      lk.unlock();
      d.run_task(task.first, task.second);
      lk.lock();
    }
  }
  d.cv_done.wait(lk, [&] { return p->done || d.stop; });
  PAT_ASSERT(p->done, "loader stopped while a batch was awaited");
  d.queue.pop_front();
  if (!sync) d.open_batches_locked(size_t(options_.prefetch_batches));
  if (p->error) {
    d.failed = p->error;
    std::rethrow_exception(d.failed);
  }
  d.state = p->end_state;
  return std::move(p->batch);
}

LoaderState Loader::state() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->state;
}

int64_t Loader::batches_per_epoch() const {
  if (options_.repeat) return -1;
  const int64_t n = impl_->n, b = options_.batch_size, g = impl_->global_batch;
  int64_t count = 0;
  for (int64_t base = 0; base < n; base += g) {
    if (options_.drop_last && base + g > n) break;
    if (base + options_.rank * b < n) ++count;
  }
  return count;
}

}  // namespace pat::data
