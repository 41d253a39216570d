#pragma once
/// \file Learning-rate schedules (detectron2's WarmupCosineLR / WarmupPolyLR semantics).

#include <cstdint>
#include <string>

namespace pat::engine {

/// Schedule parameters (from `train:`).
struct LrScheduleOptions {
  std::string kind = "cosine";   ///< cosine | poly | constant
  int64_t max_iter = 80000;      ///< the schedule reaches its end here
  int64_t warmup_iters = 0;      ///< linear warmup from warmup_factor to 1
  double warmup_factor = 0.001;  ///< starting multiplier of the warmup
  double poly_power = 0.9;       ///< exponent of the poly schedule
};

/// The multiplier of the base learning rate at iteration `iter` (0-based):
/// cosine 0.5·(1+cos(π·iter/max_iter)), poly (1−iter/max_iter)^power, constant 1; times the warmup factor.
double lr_multiplier(const LrScheduleOptions& options, int64_t iter);

}  // namespace pat::engine
