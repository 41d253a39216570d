#include "pat/core/error.h"

#include <gtest/gtest.h>

TEST(Error, CheckThrowsOneLineMessage) {
  try {
    PAT_CHECK(1 + 1 == 3, "model.width: expected ", 64, ",\ngot ", 3.5);
    FAIL() << "PAT_CHECK did not throw";
  } catch (const pat::Error& e) {
    EXPECT_STREQ(e.what(), "model.width: expected 64, got 3.5");
  }
}

TEST(Error, CheckPassesSilently) {
  EXPECT_NO_THROW(PAT_CHECK(true, "never"));
}

TEST(Error, AssertIsInternalNotUserError) {
  EXPECT_THROW(PAT_ASSERT(false, "broken invariant"), std::logic_error);
  try {
    PAT_ASSERT(2 < 1);
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("bug in PAT"), std::string::npos);
    EXPECT_EQ(dynamic_cast<const pat::Error*>(&e), nullptr);
  }
}
