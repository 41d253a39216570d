#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "pat/core/error.h"
#include "pat/core/npy.h"
#include "pat/engine/eval/metrics.h"
#include "test_support.h"

namespace {

using pat::engine::ConfusionMatrix;
using pat::engine::MiouFormula;
using pat::engine::SegMetrics;

torch::Tensor labels(std::vector<int64_t> values) {
  return torch::tensor(values, torch::kInt64);
}

// pred/gt pairs at non-ignored pixels: (0,0) (0,1) (1,1) (0,1) (2,0); two ignored pixels predicted 2.
// matrix[pred][gt]: [0][0]=1 [0][1]=2 [1][1]=1 [2][0]=1. GT pixels 2/3/0, predicted 3/1/1, hits 1/1/0.
ConfusionMatrix hand_example() {
  ConfusionMatrix m(3, 255);
  m.update(labels({0, 0, 1, 0, 2, 2, 2}), labels({0, 1, 1, 1, 0, 255, 255}));
  return m;
}

TEST(Metrics, HandComputedMatrix) {
  auto m = hand_example();
  auto expected = torch::tensor({1, 2, 0, 0, 1, 0, 1, 0, 0}, torch::kInt64).view({3, 3});
  EXPECT_TRUE(torch::equal(m.matrix(), expected)) << m.matrix();
}

TEST(Metrics, HandComputedNewFormula) {
  SegMetrics r = hand_example().compute();
  EXPECT_NEAR(r.iou[0], 100.0 / 4, 1e-9);  // 1 / (2 + 3 - 1)
  EXPECT_NEAR(r.iou[1], 100.0 / 3, 1e-9);  // 1 / (3 + 1 - 1)
  EXPECT_TRUE(std::isnan(r.iou[2]));       // predicted but never in GT
  EXPECT_NEAR(r.acc[0], 50.0, 1e-9);
  EXPECT_NEAR(r.acc[1], 100.0 / 3, 1e-9);
  EXPECT_TRUE(std::isnan(r.acc[2]));
  EXPECT_NEAR(r.miou, 100.0 * 7.0 / 24.0, 1e-9);  // (1/4 + 1/3) / 2
  EXPECT_NEAR(r.fwiou, 30.0, 1e-9);               // 1/4 * 2/5 + 1/3 * 3/5
  EXPECT_NEAR(r.pacc, 40.0, 1e-9);                // 2 / 5
  EXPECT_NEAR(r.macc, 100.0 * 5.0 / 12.0, 1e-9);  // (1/2 + 1/3) / 2
  EXPECT_EQ(r.num_pixels, 5);
}

TEST(Metrics, HandComputedOldFormulaCountsPredictedOnlyClasses) {
  SegMetrics r = hand_example().compute(MiouFormula::kGtOrPredPresent);
  EXPECT_NEAR(r.miou, 100.0 * 7.0 / 36.0, 1e-9);  // (1/4 + 1/3) / 3: class 2 is predicted
  EXPECT_NEAR(r.fwiou, 30.0, 1e-9);               // the other metrics do not change
  EXPECT_NEAR(r.macc, 100.0 * 5.0 / 12.0, 1e-9);
}

TEST(Metrics, PredictionsOnIgnoredPixelsDoNotCount) {
  // Class 2 is predicted only where the GT is ignored: both formulas agree.
  ConfusionMatrix m(3, 255);
  m.update(labels({0, 1, 2, 2}), labels({0, 1, 255, 255}));
  EXPECT_NEAR(m.compute().miou, 100.0, 1e-9);
  EXPECT_NEAR(m.compute(MiouFormula::kGtOrPredPresent).miou, 100.0, 1e-9);
  EXPECT_EQ(m.compute().num_pixels, 2);
}

TEST(Metrics, IgnoreLabelEqualToNumClasses) {
  ConfusionMatrix m(459, 459);  // PC-459 convention
  m.update(labels({0, 458, 3}), labels({0, 459, 3}));
  EXPECT_EQ(m.compute().num_pixels, 2);
  EXPECT_NEAR(m.compute().miou, 100.0, 1e-9);
}

TEST(Metrics, EmptyAccumulatorIsNaN) {
  SegMetrics r = ConfusionMatrix(4).compute();
  EXPECT_TRUE(std::isnan(r.miou));
  EXPECT_TRUE(std::isnan(r.pacc));
  EXPECT_TRUE(std::isnan(r.macc));
  EXPECT_TRUE(std::isnan(r.fwiou));
  EXPECT_EQ(r.num_pixels, 0);
}

TEST(Metrics, MergeEqualsOnePass) {
  ConfusionMatrix a(3), b(3), both(3);
  a.update(labels({0, 0, 1}), labels({0, 1, 1}));
  b.update(labels({0, 2, 2, 2}), labels({1, 0, 255, 255}));
  both.update(labels({0, 0, 1, 0, 2, 2, 2}), labels({0, 1, 1, 1, 0, 255, 255}));
  ConfusionMatrix merged(3);
  merged.merge(a);
  merged.merge(b);
  EXPECT_TRUE(torch::equal(merged.matrix(), both.matrix()));
  ConfusionMatrix raw(3);
  raw.merge(a.matrix());
  raw.merge(b.matrix().to(torch::kInt32));
  EXPECT_TRUE(torch::equal(raw.matrix(), both.matrix()));
  raw.set_matrix(a.matrix());
  EXPECT_TRUE(torch::equal(raw.matrix(), a.matrix()));
  raw.reset();
  EXPECT_EQ(raw.matrix().sum().item<int64_t>(), 0);
}

TEST(Metrics, TwoDimensionalInputsAndDtypes) {
  ConfusionMatrix m(3);
  auto pred = torch::tensor({0, 1, 2, 1}, torch::kInt64).view({2, 2});
  auto gt = torch::tensor({0, 1, 2, 255}, torch::kUInt8).view({2, 2});
  m.update(pred, gt);
  EXPECT_NEAR(m.compute().pacc, 100.0, 1e-9);
}

TEST(Metrics, Errors) {
  ConfusionMatrix m(3, 255);
  try {
    m.update(labels({0, 1}), labels({0, 7}));
    FAIL() << "no error for GT value 7";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("value 7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(m.update(labels({0, 1}), labels({0, -1})), pat::Error);
  EXPECT_THROW(m.update(labels({0, 3}), labels({0, 1})), pat::Error);
  EXPECT_THROW(m.update(labels({0, 1, 2}), labels({0, 1})), pat::Error);
  EXPECT_THROW(m.update(torch::zeros({2}), labels({0, 1})), pat::Error);
  EXPECT_THROW(m.merge(ConfusionMatrix(4)), pat::Error);
  EXPECT_THROW(m.merge(ConfusionMatrix(3, 0)), pat::Error);
  EXPECT_THROW(m.merge(torch::zeros({2, 2}, torch::kInt64)), pat::Error);
  EXPECT_THROW(m.set_matrix(torch::zeros({3, 3}, torch::kFloat32)), pat::Error);
  EXPECT_THROW(ConfusionMatrix(0), pat::Error);
  EXPECT_THROW(pat::engine::compute_seg_metrics(torch::zeros({2, 3}, torch::kInt64)), pat::Error);
  EXPECT_EQ(m.matrix().sum().item<int64_t>(), 0);  // failed updates add nothing
}

TEST(Metrics, Voc20bMapping) {
  auto mapped = pat::engine::map_voc20b_predictions(labels({0, 5, 19, 20, 21, 58}));
  EXPECT_TRUE(torch::equal(mapped, labels({0, 5, 19, 20, 20, 20})));
  // Scored as 21 classes: "table" (class 25 of the 59) predicted on background counts as correct.
  ConfusionMatrix m(pat::engine::kVoc20bScoredClasses, 255);
  m.update(pat::engine::map_voc20b_predictions(labels({25, 3, 40})), labels({20, 3, 255}));
  EXPECT_NEAR(m.compute().miou, 100.0, 1e-9);
  EXPECT_THROW(pat::engine::map_voc20b_predictions(torch::zeros({2})), pat::Error);
}

void check_golden(const std::string& name) {
  std::ifstream in(pat::test::data_path("eval/metrics_" + name + ".json"));
  ASSERT_TRUE(in.good());
  const auto golden = nlohmann::json::parse(in);
  ConfusionMatrix m(golden["num_classes"].get<int64_t>(), golden["ignore_label"].get<int64_t>());
  for (int i = 0; i < golden["images"].get<int>(); ++i) {
    auto stem = pat::test::data_path("eval/metrics_" + name);
    m.update(pat::read_npy(stem + "_pred" + std::to_string(i) + ".npy"),
             pat::read_npy(stem + "_gt" + std::to_string(i) + ".npy"));
  }
  if (golden.contains("matrix")) {
    std::vector<int64_t> flat;
    for (const auto& row : golden["matrix"]) {
      for (const auto& v : row) flat.push_back(v.get<int64_t>());
    }
    EXPECT_TRUE(torch::equal(m.matrix(), torch::tensor(flat).view_as(m.matrix())));
  }
  auto r = m.compute();
  EXPECT_NEAR(r.miou, golden["mIoU"].get<double>(), 1e-9);
  EXPECT_NEAR(m.compute(MiouFormula::kGtOrPredPresent).miou, golden["mIoU_v06"].get<double>(), 1e-9);
  EXPECT_LT(golden["mIoU_v06"].get<double>(), golden["mIoU"].get<double>());  // the fixtures make them differ
  EXPECT_NEAR(r.fwiou, golden["fwIoU"].get<double>(), 1e-9);
  EXPECT_NEAR(r.pacc, golden["pACC"].get<double>(), 1e-9);
  EXPECT_NEAR(r.macc, golden["mACC"].get<double>(), 1e-9);
  EXPECT_EQ(r.num_pixels, golden["num_pixels"].get<int64_t>());
  ASSERT_EQ(r.iou.size(), golden["IoU"].size());
  for (size_t k = 0; k < r.iou.size(); ++k) {
    if (golden["IoU"][k].is_null()) {
      EXPECT_TRUE(std::isnan(r.iou[k]) && std::isnan(r.acc[k])) << "class " << k;
    } else {
      EXPECT_NEAR(r.iou[k], golden["IoU"][k].get<double>(), 1e-9) << "class " << k;
      EXPECT_NEAR(r.acc[k], golden["ACC"][k].get<double>(), 1e-9) << "class " << k;
    }
  }
}

TEST(Metrics, GoldenSmall) {
  check_golden("small");
}
TEST(Metrics, GoldenManyClasses) {
  check_golden("many");
}

}  // namespace
