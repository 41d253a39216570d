#include "pat/engine/train/lr_schedule.h"

#include <cmath>

#include <gtest/gtest.h>

#include "pat/core/error.h"

using pat::engine::lr_multiplier;
using pat::engine::LrScheduleOptions;

TEST(LrSchedule, CosineMatchesCatSegFormula) {
  LrScheduleOptions o;
  o.max_iter = 80000;
  for (int64_t it : {0, 1, 20000, 40000, 79999, 80000}) {
    EXPECT_NEAR(lr_multiplier(o, it), 0.5 * (1 + std::cos(M_PI * it / 80000.0)), 1e-12) << it;
  }
  EXPECT_DOUBLE_EQ(lr_multiplier(o, 0), 1.0);
  EXPECT_NEAR(lr_multiplier(o, 40000), 0.5, 1e-12);
}

TEST(LrSchedule, PolyConstantAndWarmup) {
  LrScheduleOptions o;
  o.kind = "poly";
  o.max_iter = 100;
  o.poly_power = 0.9;
  EXPECT_NEAR(lr_multiplier(o, 50), std::pow(0.5, 0.9), 1e-12);
  o.kind = "constant";
  o.warmup_iters = 10;
  o.warmup_factor = 0.1;
  EXPECT_NEAR(lr_multiplier(o, 0), 0.1, 1e-12);
  EXPECT_NEAR(lr_multiplier(o, 5), 0.1 * 0.5 + 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(o, 10), 1.0, 1e-12);
  o.kind = "step";
  EXPECT_THROW(lr_multiplier(o, 1), pat::Error);
}
