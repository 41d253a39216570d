#include <cmath>
#include <limits>

#include "pat/config/config.h"
#include "pat/core/error.h"
#include "pat/engine/eval/benchmark.h"
#include "pat/engine/eval/class_split.h"
#include "test_support.h"

namespace {

using pat::engine::SegMetrics;
using pat::engine::SplitMetrics;

const double kSplitNan = std::numeric_limits<double>::quiet_NaN();

SegMetrics split_test_metrics(std::vector<double> iou) {
  SegMetrics m;
  m.acc = iou;
  m.iou = std::move(iou);
  return m;
}

pat::Config split_test_config(std::vector<std::string> train_classes) {
  pat::Config c;
  c.data.synthetic_classes = {"sky", "grass", "water", "red circle", "blue square"};
  c.data.synthetic_train_classes = std::move(train_classes);
  return c;
}

TEST(ClassSplit, NoSplitDeclaredGivesEmptyMask) {
  pat::Config c = split_test_config({});
  EXPECT_TRUE(pat::engine::seen_class_mask(c, {"sky", "grass"}).empty());
}

TEST(ClassSplit, MaskFollowsTrainClassNames) {
  pat::Config c = split_test_config({"red circle", "sky"});
  EXPECT_EQ(pat::engine::seen_class_mask(c, {"sky", "grass", "red circle", "blue square", "Sky"}),
            (std::vector<bool>{true, false, true, false, false}));  // exact names, in evaluation order
  EXPECT_TRUE(pat::engine::seen_class_mask(c, {}).empty());
}

// sky 50 (seen), grass no GT (unseen), red circle 30 (seen), blue square 20 (unseen), water 10 (unseen).
// Seen: (50 + 30) / 2 = 40. Unseen over classes with GT: (20 + 10) / 2 = 15 (not 30 / 3 = 10).
// hIoU = 2 * 40 * 15 / (40 + 15) = 1200 / 55.
TEST(ClassSplit, MeansSkipClassesWithoutGroundTruth) {
  auto m = split_test_metrics({50, kSplitNan, 30, 20, 10});
  SplitMetrics s = pat::engine::split_metrics(m, {true, false, true, false, false},
                                              {"sky", "grass", "red circle", "blue square", "water"});
  EXPECT_DOUBLE_EQ(s.seen_miou, 40.0);
  EXPECT_DOUBLE_EQ(s.unseen_miou, 15.0);
  EXPECT_NEAR(s.hiou, 1200.0 / 55.0, 1e-12);
  EXPECT_EQ(s.seen, (std::vector<std::string>{"sky", "red circle"}));
  EXPECT_EQ(s.unseen, (std::vector<std::string>{"grass", "blue square", "water"}));  // all of the group's classes
}

TEST(ClassSplit, HarmonicMeanFormula) {
  // S = 60, U = 20: 2 * 60 * 20 / 80 = 30 (the arithmetic mean would be 40).
  auto s = pat::engine::split_metrics(split_test_metrics({60, 20}), {true, false}, {"a", "b"});
  EXPECT_DOUBLE_EQ(s.hiou, 30.0);
  // A zero IoU counts (it is not NaN): unseen (0 + 40) / 2 = 20, hIoU 2 * 60 * 20 / 80 = 30.
  s = pat::engine::split_metrics(split_test_metrics({60, 0, 40}), {true, false, false}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(s.unseen_miou, 20.0);
  EXPECT_DOUBLE_EQ(s.hiou, 30.0);
  // S + U = 0: hIoU 0, not NaN.
  s = pat::engine::split_metrics(split_test_metrics({0, 0}), {true, false}, {"a", "b"});
  EXPECT_EQ(s.hiou, 0.0);
  // One side zero: hIoU 0.
  s = pat::engine::split_metrics(split_test_metrics({0, 70}), {true, false}, {"a", "b"});
  EXPECT_EQ(s.hiou, 0.0);
}

TEST(ClassSplit, GroupWithoutGroundTruthGivesNan) {
  auto s =
      pat::engine::split_metrics(split_test_metrics({50, kSplitNan, kSplitNan}), {true, false, false}, {"a", "b", "c"});
  EXPECT_DOUBLE_EQ(s.seen_miou, 50.0);
  EXPECT_TRUE(std::isnan(s.unseen_miou));
  EXPECT_TRUE(std::isnan(s.hiou));
  // Every class seen: the unseen group is empty.
  s = pat::engine::split_metrics(split_test_metrics({50, 10}), {true, true}, {"a", "b"});
  EXPECT_DOUBLE_EQ(s.seen_miou, 30.0);
  EXPECT_TRUE(s.unseen.empty());
  EXPECT_TRUE(std::isnan(s.unseen_miou));
  EXPECT_TRUE(std::isnan(s.hiou));
}

TEST(ClassSplit, NamelessClassesUseIndices) {
  auto s = pat::engine::split_metrics(split_test_metrics({1, 2, 3}), {false, true, false}, {});
  EXPECT_EQ(s.seen, (std::vector<std::string>{"1"}));
  EXPECT_EQ(s.unseen, (std::vector<std::string>{"0", "2"}));
}

TEST(ClassSplit, SizeMismatchesAreErrors) {
  auto m = split_test_metrics({1, 2, 3});
  EXPECT_THROW(pat::engine::split_metrics(m, {true, false}, {"a", "b", "c"}), pat::Error);
  EXPECT_THROW(pat::engine::split_metrics(m, {}, {"a", "b", "c"}), pat::Error);
  EXPECT_THROW(pat::engine::split_metrics(m, {true, false, true}, {"a", "b"}), pat::Error);
  try {
    pat::engine::split_metrics(m, {true, false, true, true}, {"a", "b", "c"});
    FAIL() << "no error";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("4 seen flags for 3 evaluated classes"), std::string::npos) << e.what();
  }
}

TEST(ClassSplit, SummaryLine) {
  auto s = pat::engine::split_metrics(split_test_metrics({50, kSplitNan, 30, 20}), {true, false, true, true},
                                      {"a", "b", "c", "d"});
  EXPECT_EQ(pat::engine::split_summary(s), "seen mIoU 33.33 (3 classes), unseen mIoU n/a (1 class), hIoU n/a");
}

TEST(ClassSplit, AttachToResultOnlyWithSplit) {
  pat::engine::BenchmarkResult r;
  r.metrics = split_test_metrics({60, 20, kSplitNan});
  r.class_names = {"sky", "red circle", "grass"};
  pat::engine::attach_class_split(r, split_test_config({}));
  EXPECT_FALSE(r.split.has_value());
  pat::engine::attach_class_split(r, split_test_config({"sky", "grass"}));
  ASSERT_TRUE(r.split.has_value());
  EXPECT_DOUBLE_EQ(r.split->seen_miou, 60.0);
  EXPECT_DOUBLE_EQ(r.split->unseen_miou, 20.0);
  EXPECT_DOUBLE_EQ(r.split->hiou, 30.0);
  EXPECT_EQ(r.split->seen, (std::vector<std::string>{"sky", "grass"}));
}

TEST(ClassSplit, DefaultBenchmarkIsTheSyntheticValidationSet) {
  pat::Config c;
  c.data.val_dataset = "synthetic";
  EXPECT_EQ(pat::engine::default_benchmark(c), "val");
  c.data.val_dataset = "coco-stuff-val";
  EXPECT_EQ(pat::engine::default_benchmark(c), "");
}

}  // namespace
