#pragma once
/// \file The data pipeline's own small seeded random generator (never LibTorch's global one).
///
/// All distributions are implemented here (not with `std::uniform_*_distribution`, whose output
/// differs between standard libraries), so a seed gives the same augmentations everywhere.

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace pat::data {

/// SplitMix64 finaliser: a well-mixed 64-bit hash of `x`.
uint64_t mix64(uint64_t x);

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(mix64(seed)) {}

  /// The generator of one sample: a function of (seed, epoch, dataset index) only, so augmentations
  /// do not depend on worker count, batch size or rank.
  static Rng for_sample(uint64_t seed, int64_t epoch, int64_t index);

  uint64_t next_u64() { return engine_(); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi) (numpy `randint` convention); requires hi > lo.
  int64_t randint(int64_t lo, int64_t hi);
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }
  /// Standard normal (Box-Muller, two uniforms per call).
  double normal();

  /// Fisher-Yates shuffle.
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(randint(0, int64_t(i)))]);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace pat::data
