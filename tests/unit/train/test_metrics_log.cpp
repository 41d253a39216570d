#include "pat/engine/train/metrics_log.h"

#include <gtest/gtest.h>

#include "test_support.h"

TEST(MetricsLog, AppendsAndTruncatesOnResume) {
  pat::test::TempDir dir;
  auto path = dir.file("metrics.jsonl");
  {
    pat::engine::MetricsLog log(path);
    for (int step = 10; step <= 40; step += 10) log.write({{"step", step}, {"loss", 1.0 / step}});
  }
  auto records = pat::engine::MetricsLog::read(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_DOUBLE_EQ(records[1]["loss"].get<double>(), 0.05);
  {
    pat::engine::MetricsLog log(path, /*resume_step=*/20);  // steps 30 and 40 happened after the checkpoint
    log.write({{"step", 30}, {"loss", 0.5}});
  }
  records = pat::engine::MetricsLog::read(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["step"].get<int>(), 30);
  EXPECT_DOUBLE_EQ(records[2]["loss"].get<double>(), 0.5);
}
