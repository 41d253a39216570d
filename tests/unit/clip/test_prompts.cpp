#include <gtest/gtest.h>

#include "pat/clip/prompt_templates.h"
#include "pat/core/error.h"

using namespace pat::clip;

TEST(ClipPrompts, TemplateSets) {
  const auto& single = prompt_templates("single");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0], "A photo of a {} in the scene");
  const auto& imagenet = prompt_templates("imagenet");
  ASSERT_EQ(imagenet.size(), 80u);
  EXPECT_EQ(imagenet.front(), "a bad photo of a {}.");
  EXPECT_EQ(imagenet[39], "a photo of a {}.");
  EXPECT_EQ(imagenet.back(), "a tattoo of the {}.");
  EXPECT_EQ(std::set<std::string>(imagenet.begin(), imagenet.end()).size(), 80u);
  const auto& select = prompt_templates("imagenet_select");
  ASSERT_EQ(select.size(), 8u);
  EXPECT_EQ(select.front(), "itap of a {}.");
  EXPECT_EQ(select[4], "a {} in a video game.");
  EXPECT_EQ(select.back(), "A photo of a {} in the scene");
  for (const auto& t : select) EXPECT_TRUE(t == select.back() || std::count(imagenet.begin(), imagenet.end(), t)) << t;
  EXPECT_EQ(prompt_templates("plain"), std::vector<std::string>{"{}"});
  EXPECT_EQ(prompt_template_names().size(), 4u);
  EXPECT_THROW(prompt_templates("vild"), pat::Error);
}

TEST(ClipPrompts, FirstSynonym) {
  EXPECT_EQ(first_synonym("building, edifice"), "building");
  EXPECT_EQ(first_synonym("person, individual, someone, somebody, mortal, soul"), "person");
  EXPECT_EQ(first_synonym("central processing unit, cpu, c p u , central processor"), "central processing unit");
  EXPECT_EQ(first_synonym("traffic light"), "traffic light");
  EXPECT_EQ(first_synonym("bed "), "bed ");
  EXPECT_EQ(first_synonym("a,b"), "a,b");  // CAT-Seg splits on ", " only
}

TEST(ClipPrompts, Formatting) {
  EXPECT_EQ(format_prompt(kSceneTemplate, "cat"), "A photo of a cat in the scene");
  EXPECT_EQ(format_prompt("{} and {}", "x"), "x and x");
  EXPECT_THROW(format_prompt("no placeholder", "cat"), pat::Error);
  auto prompts = class_prompts("sofa, couch, lounge", prompt_templates("imagenet_select"));
  ASSERT_EQ(prompts.size(), 8u);
  EXPECT_EQ(prompts[0], "itap of a sofa.");
  EXPECT_EQ(prompts[4], "a sofa in a video game.");
  EXPECT_EQ(prompts[7], "A photo of a sofa in the scene");
}
