#include "pat/engine/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "pat/core/error.h"

namespace pat::engine {

double lr_multiplier(const LrScheduleOptions& options, int64_t iter) {
  PAT_CHECK(options.max_iter > 0, "lr schedule: expected max_iter > 0, got ", options.max_iter);
  const double progress = std::min(1.0, static_cast<double>(iter) / static_cast<double>(options.max_iter));
  double value = 1.0;
  if (options.kind == "cosine") {
    value = 0.5 * (1.0 + std::cos(M_PI * progress));
  } else if (options.kind == "poly") {
    value = std::pow(1.0 - progress, options.poly_power);
  } else {
    PAT_CHECK(options.kind == "constant", "train.schedule: expected cosine, poly or constant, got \"", options.kind,
              "\"");
  }
  if (iter < options.warmup_iters) {
    const double alpha = static_cast<double>(iter) / static_cast<double>(options.warmup_iters);
    value *= options.warmup_factor * (1.0 - alpha) + alpha;
  }
  return value;
}

}  // namespace pat::engine
