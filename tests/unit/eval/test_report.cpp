#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "pat/core/error.h"
#include "pat/engine/eval/report.h"
#include "test_support.h"

namespace {

using pat::engine::BenchmarkResult;

std::vector<BenchmarkResult> sample() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BenchmarkResult a;
  a.name = "ade150";
  a.metrics.miou = 31.8123;
  a.metrics.fwiou = 55.5;
  a.metrics.pacc = 70.25;
  a.metrics.macc = 44.0;
  a.metrics.iou = {50.0, nan, 12.5};
  a.metrics.acc = {60.0, nan, 25.0};
  a.metrics.num_pixels = 1234;
  a.class_names = {"wall", "bed ", "wall"};
  BenchmarkResult b;
  b.name = "voc20";
  b.metrics.miou = nan;
  b.metrics.fwiou = 1;
  b.metrics.pacc = 2;
  b.metrics.macc = 3;
  b.metrics.iou = {1.0};
  b.metrics.acc = {2.0};
  return {a, b};
}

TEST(Report, MarkdownTable) {
  const std::string md = pat::engine::results_markdown(sample());
  EXPECT_EQ(md,
            "| benchmark | mIoU | fwIoU | pACC | mACC |\n"
            "|---|---:|---:|---:|---:|\n"
            "| ade150 | 31.81 | 55.50 | 70.25 | 44.00 |\n"
            "| voc20 | n/a | 1.00 | 2.00 | 3.00 |\n");
}

TEST(Report, JsonValuesNullsAndClassKeys) {
  auto j = pat::engine::results_to_json(sample());
  ASSERT_TRUE(j.contains("ade150") && j.contains("voc20"));
  EXPECT_EQ(j.begin().key(), "ade150");  // order kept
  const auto& a = j["ade150"];
  EXPECT_DOUBLE_EQ(a["mIoU"].get<double>(), 31.8123);
  EXPECT_DOUBLE_EQ(a["pACC"].get<double>(), 70.25);
  EXPECT_EQ(a["num_pixels"].get<int64_t>(), 1234);
  EXPECT_DOUBLE_EQ(a["IoU"]["wall"].get<double>(), 50.0);
  EXPECT_TRUE(a["IoU"]["bed "].is_null());
  EXPECT_TRUE(a["ACC"]["bed "].is_null());
  EXPECT_DOUBLE_EQ(a["IoU"]["wall (2)"].get<double>(), 12.5);  // repeated name keeps its value
  EXPECT_TRUE(j["voc20"]["mIoU"].is_null());
  EXPECT_DOUBLE_EQ(j["voc20"]["IoU"]["0"].get<double>(), 1.0);  // no names: indices
}

TEST(Report, WriteJsonFile) {
  pat::test::TempDir dir;
  pat::engine::write_results_json(dir.file("results.json"), sample());
  std::ifstream in(dir.file("results.json"));
  auto j = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(j["ade150"]["fwIoU"].get<double>(), 55.5);
  EXPECT_THROW(pat::engine::write_results_json(dir.file("missing/dir/results.json"), sample()), pat::Error);
}

// sample() with a seen/unseen split on ade150 only: seen wall (0), unseen bed (NaN) and wall (2).
std::vector<BenchmarkResult> sample_with_split() {
  auto results = sample();
  pat::engine::SplitMetrics split;
  split.seen_miou = 50.0;
  split.unseen_miou = 12.5;
  split.hiou = 20.0;  // 2 * 50 * 12.5 / 62.5
  split.seen = {"wall"};
  split.unseen = {"bed ", "wall"};
  results[0].split = split;
  return results;
}

TEST(Report, MarkdownSplitColumns) {
  auto results = sample_with_split();
  EXPECT_EQ(pat::engine::results_markdown(results),
            "| benchmark | mIoU | fwIoU | pACC | mACC | seen mIoU | unseen mIoU | hIoU |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|\n"
            "| ade150 | 31.81 | 55.50 | 70.25 | 44.00 | 50.00 | 12.50 | 20.00 |\n"
            "| voc20 | n/a | 1.00 | 2.00 | 3.00 | n/a | n/a | n/a |\n");
  results[0].split->unseen_miou = std::numeric_limits<double>::quiet_NaN();
  results[0].split->hiou = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(pat::engine::results_markdown(results).find("| 44.00 | 50.00 | n/a | n/a |\n"), std::string::npos);
}

TEST(Report, JsonSplitKeys) {
  auto results = sample_with_split();
  results[0].split->hiou = std::numeric_limits<double>::quiet_NaN();
  auto j = pat::engine::results_to_json(results);
  const auto& a = j["ade150"];
  EXPECT_DOUBLE_EQ(a["seen_mIoU"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(a["unseen_mIoU"].get<double>(), 12.5);
  ASSERT_TRUE(a.contains("hIoU"));
  EXPECT_TRUE(a["hIoU"].is_null());
  EXPECT_EQ(a["seen_classes"].get<std::vector<std::string>>(), (std::vector<std::string>{"wall"}));
  EXPECT_EQ(a["unseen_classes"].get<std::vector<std::string>>(), (std::vector<std::string>{"bed ", "wall"}));
  for (const char* key : {"seen_mIoU", "unseen_mIoU", "hIoU", "seen_classes", "unseen_classes"})
    EXPECT_FALSE(j["voc20"].contains(key)) << key;  // no split: no keys
  for (const char* key : {"seen_mIoU", "hIoU"})
    EXPECT_FALSE(pat::engine::results_to_json(sample())["ade150"].contains(key));
}

TEST(Report, Errors) {
  auto bad = sample();
  bad[0].class_names.pop_back();
  EXPECT_THROW(pat::engine::results_to_json(bad), pat::Error);
  bad = sample();
  bad[1].name = "ade150";
  EXPECT_THROW(pat::engine::results_to_json(bad), pat::Error);
  bad = sample();
  bad[0].metrics.acc.pop_back();
  EXPECT_THROW(pat::engine::results_to_json(bad), pat::Error);
}

}  // namespace
