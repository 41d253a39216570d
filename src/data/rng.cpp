#include "pat/data/rng.h"

#include <cmath>

#include "pat/core/error.h"

namespace pat::data {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Rng Rng::for_sample(uint64_t seed, int64_t epoch, int64_t index) {
  return Rng(mix64(seed) ^ mix64(mix64(uint64_t(epoch) + 0x51ED27ull) + uint64_t(index)));
}

double Rng::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

int64_t Rng::randint(int64_t lo, int64_t hi) {
  PAT_ASSERT(hi > lo, "randint: empty range [", lo, ", ", hi, ")");
  const uint64_t range = uint64_t(hi - lo);
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return lo + int64_t(x % range);
}

}  // namespace pat::data
