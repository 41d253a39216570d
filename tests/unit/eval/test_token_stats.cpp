#include <cmath>

#include "pat/core/error.h"
#include "pat/engine/eval/token_stats.h"
#include "test_support.h"

namespace {

using pat::engine::TokenClassStats;

torch::Tensor ints(std::vector<int64_t> values) {
  return torch::tensor(values, torch::kInt64);
}

}  // namespace

TEST(TokenClassStats, TokensThatRenameTheClassesScoreOne) {
  TokenClassStats stats(4);
  stats.add(ints({3, 3, 1, 1, 0}), ints({5, 5, 2, 2, 7}));
  EXPECT_DOUBLE_EQ(stats.purity(), 1.0);
  EXPECT_NEAR(stats.nmi(), 1.0, 1e-12);
  EXPECT_EQ(stats.pixels(), 5);
  EXPECT_EQ(stats.tokens_present(), 3);
  EXPECT_EQ(stats.classes_present(), 3);
}

TEST(TokenClassStats, HandWorkedTable) {
  // n = [[2, 1], [0, 1]]: token 0 covers two pixels of class 0 and one of class 1, token 1 one of class 1.
  TokenClassStats stats(2);
  stats.add(ints({0, 0, 0, 1}), ints({0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(stats.purity(), 3.0 / 4.0);
  const double ht = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  const double hc = std::log(2.0);
  // I = Σ p_tc ln(p_tc / (p_t p_c)) = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2 ≈ 0.215762
  const double mi = 0.5 * std::log(4.0 / 3.0) + 0.25 * std::log(2.0 / 3.0) + 0.25 * std::log(2.0);
  EXPECT_NEAR(mi, 0.2157616, 1e-6);
  EXPECT_NEAR(stats.nmi(), mi / ((ht + hc) / 2), 1e-12);
  EXPECT_NEAR(stats.nmi(), 0.3437110, 1e-6);
}

TEST(TokenClassStats, IndependentTokensScoreZero) {
  TokenClassStats stats(2);
  stats.add(ints({0, 1, 0, 1}), ints({0, 0, 1, 1}));
  EXPECT_NEAR(stats.nmi(), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(stats.purity(), 0.5);
}

TEST(TokenClassStats, OneTokenOverManyClasses) {
  TokenClassStats stats(3);
  stats.add(ints({2, 2, 2, 2}), ints({0, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(stats.nmi(), 0.0);  // H(T) = 0: the tokens tell nothing
  EXPECT_DOUBLE_EQ(stats.purity(), 0.75);
  TokenClassStats single(3);
  single.add(ints({1, 1}), ints({4, 4}));
  EXPECT_DOUBLE_EQ(single.nmi(), 1.0);
}

TEST(TokenClassStats, AccumulatesAcrossMapsAndSkipsIgnoredPixels) {
  TokenClassStats whole(2), parts(2);
  whole.add(ints({0, 0, 0, 1}), ints({0, 0, 1, 1}));
  parts.add(ints({0, 0}).view({1, 2}), ints({0, 0}).view({1, 2}));
  parts.add(ints({0, 1, 1, 0, 1}), ints({1, 1, 255, -1, 255}));  // the last three pixels are not labelled
  EXPECT_EQ(parts.pixels(), 4);
  EXPECT_TRUE(torch::equal(parts.table(), whole.table()));
  EXPECT_DOUBLE_EQ(parts.nmi(), whole.nmi());
  EXPECT_DOUBLE_EQ(parts.purity(), whole.purity());
}

TEST(TokenClassStats, TableGrowsWithNewClasses) {
  TokenClassStats stats(2);
  stats.add(ints({0, 1}), ints({0, 1}));
  stats.add(ints({1}), ints({4}));
  EXPECT_EQ(stats.table().size(1), 5);
  EXPECT_EQ(stats.table()[1][4].item<int64_t>(), 1);
  EXPECT_EQ(stats.table()[0][0].item<int64_t>(), 1);
  EXPECT_DOUBLE_EQ(stats.purity(), 2.0 / 3.0);
}

TEST(TokenClassStats, EmptyAndBadInput) {
  TokenClassStats stats(2);
  EXPECT_EQ(stats.nmi(), 0.0);
  EXPECT_EQ(stats.purity(), 0.0);
  EXPECT_THROW(stats.add(ints({0, 2}), ints({0, 0})), pat::Error);     // id 2 outside [0, 2)
  EXPECT_THROW(stats.add(ints({0, 1}), ints({0, 0, 0})), pat::Error);  // shapes differ
  EXPECT_THROW(stats.add(torch::zeros({2}), ints({0, 0})), pat::Error);
  EXPECT_THROW(TokenClassStats(0), pat::Error);
}
