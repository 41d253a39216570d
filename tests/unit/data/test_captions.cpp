#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "pat/core/error.h"
#include "pat/data/captions.h"
#include "test_support.h"

using namespace pat::data;

namespace {

const std::vector<std::string> kCaptionColours = {"red", "green", "blue", "yellow", "orange", "purple", "pink", "cyan"};
const std::vector<std::string> kCaptionGeometries = {"circle", "square", "triangle", "star", "cross", "ring"};
const std::vector<std::string> kCaptionBackgrounds = {"sky", "grass", "water", "road", "wall", "sand", "snow", "wood"};
const std::map<std::string, int> kCountWords = {{"a", 1},     {"an", 1},   {"two", 2},  {"three", 3},
                                                {"four", 4},  {"five", 5}, {"six", 6},  {"seven", 7},
                                                {"eight", 8}, {"nine", 9}, {"many", 10}};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// What a caption names: object classes with their counts, background words, and any word that is
/// neither a template word nor part of a class name.
struct CaptionMentions {
  std::map<std::string, int> objects;
  std::set<std::string> backgrounds;
  std::vector<std::string> stray;
};

CaptionMentions parse_caption(const std::string& caption) {
  static const std::set<std::string> kTemplateWords = {"a",     "an",      "the",   "of",   "photo", "picture",
                                                       "image", "scene",   "with",  "and",  "on",    "over",
                                                       "in",    "against", "front", "some", "view",  "empty"};
  std::string text = caption;
  std::replace(text.begin(), text.end(), ',', ' ');
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  CaptionMentions m;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (contains(kCaptionColours, w)) {
      std::string noun = i + 1 < words.size() ? words[i + 1] : "";
      int count = 1;
      if (!contains(kCaptionGeometries, noun)) {  // plural: "stars", "crosses"
        for (const auto& g : kCaptionGeometries)
          if (noun == g + "s" || noun == g + "es") noun = g, count = 0;
      }
      if (!contains(kCaptionGeometries, noun)) {
        m.stray.push_back(w + " " + noun);
        continue;
      }
      if (count == 0) {  // the count word before the colour
        const auto it = i > 0 ? kCountWords.find(words[i - 1]) : kCountWords.end();
        count = it == kCountWords.end() ? -1 : it->second;
      }
      m.objects[w + " " + noun] += count;
      ++i;
    } else if (contains(kCaptionBackgrounds, w)) {
      m.backgrounds.insert(w);
    } else if (!kTemplateWords.count(w) && !kCountWords.count(w)) {
      m.stray.push_back(w);
    }
  }
  return m;
}

}  // namespace

TEST(Captions, VisibleThreshold) {
  EXPECT_EQ(visible_pixel_threshold(32 * 32), 11);  // 1% of 1024, rounded up
  EXPECT_EQ(visible_pixel_threshold(96 * 96), 30);  // 30 < 1% of 9216
  EXPECT_EQ(visible_pixel_threshold(10), 1);
}

TEST(Captions, TemplatesVaryAndNameOnlyTheContent) {
  SceneContent content;
  content.backgrounds = {"grass", "sky"};
  content.objects = {"red star", "blue circle", "red star", "orange cross"};
  Rng r(3);
  std::set<std::string> captions;
  int without_background = 0, both_backgrounds = 0, counted = 0, partial = 0, leading_blue = 0;
  for (int k = 0; k < 400; ++k) {
    const std::string c = make_caption(content, r);
    captions.insert(c);
    ASSERT_FALSE(c.empty());
    for (char ch : c) ASSERT_FALSE(std::isupper(static_cast<unsigned char>(ch))) << c;
    const CaptionMentions m = parse_caption(c);
    EXPECT_TRUE(m.stray.empty()) << c << ": '" << m.stray[0] << "'";
    ASSERT_FALSE(m.objects.empty()) << c;  // objects are never all left out
    for (const auto& [name, count] : m.objects) {
      const int available = int(std::count(content.objects.begin(), content.objects.end(), name));
      EXPECT_GE(count, 1) << c;
      EXPECT_LE(count, available) << c;
    }
    for (const auto& b : m.backgrounds) EXPECT_TRUE(contains(content.backgrounds, b)) << c;
    without_background += m.backgrounds.empty();
    both_backgrounds += m.backgrounds.size() == 2;
    counted += m.objects.count("red star") && m.objects.at("red star") == 2;
    partial += m.objects.size() < 3;
    leading_blue += c.find("blue") < c.find("red");
    if (c.find("orange cross") != std::string::npos && c.find("orange crosses") == std::string::npos)
      EXPECT_NE(c.find("an orange cross"), std::string::npos) << c;
  }
  EXPECT_GE(captions.size(), 100u);  // varied
  EXPECT_GT(without_background, 20);
  EXPECT_GT(both_backgrounds, 20);
  EXPECT_GT(counted, 20);       // "two red stars"
  EXPECT_GT(partial, 20);       // sometimes only some objects
  EXPECT_GT(leading_blue, 20);  // random order
}

TEST(Captions, BackgroundOnlyAndEmptyContent) {
  SceneContent content;
  content.backgrounds = {"snow"};
  Rng r(1);
  for (int k = 0; k < 50; ++k) {
    const CaptionMentions m = parse_caption(make_caption(content, r));
    EXPECT_EQ(m.backgrounds, std::set<std::string>{"snow"});
    EXPECT_TRUE(m.objects.empty());
  }
  Rng a(9), b(9);
  content.objects = {"cyan ring"};
  EXPECT_EQ(make_caption(content, a), make_caption(content, b));
  EXPECT_THROW(make_caption(SceneContent{}, r), pat::Error);
}
