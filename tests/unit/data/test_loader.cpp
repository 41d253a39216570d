#include <atomic>
#include <set>

#include "pat/core/error.h"
#include "pat/data/loader.h"
#include "test_support.h"

using namespace pat::data;

namespace {

/// Sample i: a 4x6 image filled with (i % 256, i / 256, 0), label i % 5; `bad` throws.
class CountingDataset : public Dataset {
 public:
  explicit CountingDataset(size_t n, int64_t bad = -1) : n_(n), bad_(bad) {}
  std::string name() const override { return "counting"; }
  size_t size() const override { return n_; }
  Sample get(size_t i) const override {
    ++reads;
    PAT_CHECK(int64_t(i) != bad_, "image /fake/img_", i, ".jpg: cannot decode JPEG data");
    Sample s;
    s.image = cv::Mat(4, 6, CV_8UC3, cv::Scalar(double(i % 256), double(i / 256), 0));
    s.label = cv::Mat(4, 6, CV_32SC1, cv::Scalar(double(i % 5)));
    s.index = int64_t(i);
    s.name = "img_" + std::to_string(i);
    s.image_path = "/fake/img_" + std::to_string(i) + ".jpg";
    return s;
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t num_classes() const override { return 5; }
  int64_t ignore_label() const override { return 255; }
  mutable std::atomic<int> reads{0};

 private:
  size_t n_;
  int64_t bad_;
  std::vector<std::string> names_ = {"a", "b", "c", "d", "e"};
};

/// Writes one random draw into the blue channel so that augmentation randomness is visible.
class StampTransform : public Transform {
 public:
  void apply(Sample& s, Rng& rng) const override { stamp(s, rng); }
  static void stamp(Sample& s, Rng& rng) {
    const auto v = uint8_t(rng.randint(0, 256));
    for (int y = 0; y < s.image.rows; ++y)
      for (int x = 0; x < s.image.cols; ++x) {
        s.image.at<cv::Vec3b>(y, x)[0] = uint8_t(s.index % 256);
        s.image.at<cv::Vec3b>(y, x)[2] = v;
      }
  }
  std::string name() const override { return "Stamp"; }
};

class ThrowingTransform : public Transform {
 public:
  void apply(Sample& s, Rng&) const override {
    if (s.index == 2) throw std::runtime_error("boom");
  }
  std::string name() const override { return "Throw"; }
};

std::vector<Batch> take(Loader& loader, int count) {
  std::vector<Batch> out;
  for (int i = 0; i < count; ++i) {
    auto b = loader.next();
    if (!b) break;
    out.push_back(std::move(*b));
  }
  return out;
}

void expect_same(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.epochs, b.epochs);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_EQ(a.state, b.state);
}

LoaderOptions opts(int64_t batch, int workers, bool repeat, uint64_t seed = 7) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.repeat = repeat;
  o.seed = seed;
  return o;
}

}  // namespace

TEST(Loader, CollatesToTensors) {
  auto ds = std::make_shared<CountingDataset>(5);
  Loader loader(ds, nullptr, opts(2, 0, false));
  auto b = loader.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->images.sizes(), (std::vector<int64_t>{2, 3, 4, 6}));
  EXPECT_EQ(b->images.dtype(), torch::kFloat32);
  EXPECT_EQ(b->labels.sizes(), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(b->labels.dtype(), torch::kInt64);
  const int64_t i0 = b->indices[0];
  EXPECT_EQ(b->images[0][0][1][1].item<float>(), float(i0 % 256));  // RGB channel order, 0..255
  EXPECT_EQ(b->labels[0][3][5].item<int64_t>(), i0 % 5);
  EXPECT_EQ(b->names[0], "img_" + std::to_string(i0));
}

TEST(Loader, EpochOrderIsASeededPermutation) {
  const auto a = epoch_order(50, 1, 0, true), b = epoch_order(50, 1, 0, true), c = epoch_order(50, 1, 1, true);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 50u);
  EXPECT_NE(a, epoch_order(50, 2, 0, true));
  const auto id = epoch_order(5, 1, 3, false);
  EXPECT_EQ(id, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Loader, GroupsStayTogetherInOrderAndBatch) {
  const auto order = epoch_order(40, 3, 1, true, 4);
  ASSERT_EQ(order.size(), 40u);
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 40u);
  for (size_t i = 0; i < order.size(); i += 4)
    for (size_t k = 0; k < 4; ++k) EXPECT_EQ(order[i + k], order[i] + int64_t(k)) << "group at " << i;
  EXPECT_EQ(order[0] % 4, 0);
  EXPECT_NE(order, epoch_order(40, 3, 1, false, 4));  // shuffled, and whole groups moved
  EXPECT_EQ(epoch_order(8, 3, 0, false, 2), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_THROW(epoch_order(9, 3, 0, true, 2), pat::Error);

  // A dataset of pairs: every batch holds whole pairs; odd batches are refused.
  struct Pairs : CountingDataset {
    using CountingDataset::CountingDataset;
    int64_t sample_group() const override { return 2; }
  };
  auto ds = std::make_shared<Pairs>(20);
  Loader loader(ds, nullptr, opts(4, 1, true));
  for (int step = 0; step < 12; ++step) {  // past the epoch boundary
    const auto b = loader.next();
    ASSERT_TRUE(b);
    for (size_t i = 0; i < b->indices.size(); i += 2) {
      EXPECT_EQ(b->indices[i] % 2, 0);
      EXPECT_EQ(b->indices[i + 1], b->indices[i] + 1);
    }
  }
  try {
    Loader odd(ds, nullptr, opts(3, 1, true));
    ADD_FAILURE() << "a batch of 3 over pairs was accepted";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("groups of 2"), std::string::npos) << e.what();
  }
}

TEST(Loader, OneEpochCoversTheDatasetWithAPartialLastBatch) {
  auto ds = std::make_shared<CountingDataset>(10);
  Loader loader(ds, nullptr, opts(4, 2, false));
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  auto batches = take(loader, 10);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].indices.size(), 2u);
  std::vector<int64_t> all;
  for (auto& b : batches) all.insert(all.end(), b.indices.begin(), b.indices.end());
  EXPECT_EQ(all, epoch_order(10, 7, 0, true));
  EXPECT_FALSE(loader.next());
  EXPECT_EQ(loader.state(), (LoaderState{1, 0}));

  LoaderOptions o = opts(4, 1, false);
  o.drop_last = true;
  Loader dropping(ds, nullptr, o);
  EXPECT_EQ(dropping.batches_per_epoch(), 2);
  EXPECT_EQ(take(dropping, 10).size(), 2u);
}

TEST(Loader, WorkerCountDoesNotChangeBatches) {
  auto ds = std::make_shared<CountingDataset>(13);
  auto stamp = std::make_shared<StampTransform>();
  Loader l0(ds, stamp, opts(3, 0, true)), l1(ds, stamp, opts(3, 1, true)), l3(ds, stamp, opts(3, 3, true));
  const auto a = take(l0, 12), b = take(l1, 12), c = take(l3, 12);  // ~3 epochs, batches span epoch ends
  ASSERT_EQ(a.size(), 12u);
  for (size_t k = 0; k < a.size(); ++k) {
    expect_same(a[k], b[k]);
    expect_same(a[k], c[k]);
  }
  // The per-sample draw depends on (seed, epoch, index): the same index differs across epochs.
  EXPECT_NE(a[0].epochs[0], a[11].epochs[0]);
  EXPECT_EQ(a[4].state.epoch, 0 + (5 * 3) / 13);
}

TEST(Loader, RanksInterleaveIntoTheSingleProcessOrder) {
  auto ds = std::make_shared<CountingDataset>(11);
  auto stamp = std::make_shared<StampTransform>();
  for (bool repeat : {true, false}) {
    SCOPED_TRACE(repeat ? "repeat" : "one epoch");
    Loader single(ds, stamp, opts(6, 2, repeat));
    LoaderOptions r0 = opts(2, 1, repeat), r1 = r0, r2 = r0;
    r0.world_size = r1.world_size = r2.world_size = 3;
    r1.rank = 1;
    r2.rank = 2;
    Loader rank0(ds, stamp, r0), rank1(ds, stamp, r1), rank2(ds, stamp, r2);
    for (int k = 0; k < 5; ++k) {
      auto s = single.next();
      if (!s) {
        EXPECT_FALSE(rank0.next());
        break;
      }
      std::vector<torch::Tensor> images;
      std::vector<int64_t> indices;
      for (Loader* r : {&rank0, &rank1, &rank2}) {
        auto b = r->next();
        if (!b) continue;  // this rank has no share of the final global batch
        images.push_back(b->images);
        indices.insert(indices.end(), b->indices.begin(), b->indices.end());
        EXPECT_EQ(b->state, s->state);  // every rank saves the same global state
      }
      EXPECT_EQ(indices, s->indices) << "batch " << k;
      EXPECT_TRUE(torch::equal(torch::cat(images), s->images)) << "batch " << k;
    }
  }
}

TEST(Loader, ResumesExactlyFromASavedState) {
  auto ds = std::make_shared<CountingDataset>(7);
  auto stamp = std::make_shared<StampTransform>();
  Loader full(ds, stamp, opts(3, 2, true));
  const auto ref = take(full, 8);
  for (size_t cut : {1u, 2u, 4u}) {
    LoaderOptions o = opts(3, 2, true);
    o.start = ref[cut - 1].state;
    Loader resumed(ds, stamp, o);
    EXPECT_EQ(resumed.state(), o.start);
    const auto rest = take(resumed, int(ref.size() - cut));
    for (size_t k = 0; k < rest.size(); ++k) expect_same(rest[k], ref[cut + k]);
  }
  // A position past the end of an epoch is normalised.
  LoaderOptions o = opts(3, 0, true);
  o.start = {0, 9};
  Loader wrapped(ds, stamp, o);
  EXPECT_EQ(wrapped.state(), (LoaderState{1, 2}));
}

TEST(Loader, WorkerErrorsReachTheConsumer) {
  auto ds = std::make_shared<CountingDataset>(8, /*bad=*/5);
  LoaderOptions o = opts(2, 2, false);
  o.shuffle = false;
  Loader loader(ds, nullptr, o);
  EXPECT_TRUE(loader.next());
  EXPECT_TRUE(loader.next());
  try {
    loader.next();
    ADD_FAILURE() << "no error";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/fake/img_5.jpg"), std::string::npos) << e.what();
  }
  EXPECT_THROW(loader.next(), pat::Error);  // stays failed

  auto good = std::make_shared<CountingDataset>(4);
  Loader throwing(good, std::make_shared<ThrowingTransform>(), o);
  try {
    take(throwing, 4);
    ADD_FAILURE() << "no error";
  } catch (const pat::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/fake/img_2.jpg"), std::string::npos) << m;
    EXPECT_NE(m.find("boom"), std::string::npos) << m;
  }
}

TEST(Loader, StopsCleanlyWhenTheConsumerStopsEarly) {
  auto ds = std::make_shared<CountingDataset>(1000);
  {
    LoaderOptions o = opts(4, 3, true);
    o.prefetch_batches = 2;
    Loader loader(ds, nullptr, o);
    EXPECT_TRUE(loader.next());
  }                                              // joins here
  EXPECT_LE(ds->reads.load(), 4 * (1 + 2 + 1));  // bounded prefetch
  { Loader never_used(ds, nullptr, opts(4, 2, true)); }
}

TEST(Loader, RejectsBadOptionsAndMixedSizes) {
  auto ds = std::make_shared<CountingDataset>(4);
  LoaderOptions o = opts(2, 1, false);
  o.rank = 2;
  o.world_size = 2;
  EXPECT_THROW(Loader(ds, nullptr, o), pat::Error);
  EXPECT_THROW(Loader(ds, nullptr, opts(0, 1, false)), pat::Error);
  EXPECT_THROW(Loader(nullptr, nullptr, opts(1, 1, false)), pat::Error);
  std::vector<Sample> mixed = {ds->get(0), ds->get(1)};
  mixed[1].image = cv::Mat(5, 6, CV_8UC3, cv::Scalar::all(0));
  EXPECT_THROW(collate(mixed), pat::Error);
  EXPECT_THROW(collate({}), pat::Error);
}
