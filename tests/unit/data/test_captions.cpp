#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "pat/core/error.h"
#include "pat/data/captions.h"
#include "pat/data/synthetic.h"
#include "pat/data/window_captions.h"
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

TEST(Captions, SceneCaptionsNameVisibleClassesAndEveryWord) {
  SyntheticOptions o;
  o.num_images = 300;
  o.image_size = 96;
  o.seed = 21;
  o.captions = true;
  SyntheticDataset ds(o);
  const auto names = ds.class_names();
  const int threshold = visible_pixel_threshold(96 * 96);
  std::set<std::string> words;
  std::vector<Sample> samples;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < ds.size(); ++i) samples.push_back(ds.get(i));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ timing   ] %.3f ms per 96x96 scene with caption (%zu scenes, all 56 classes)\n",
              ms / double(ds.size()), ds.size());

  o.captions = false;
  SyntheticDataset plain(o);
  for (size_t i = 0; i < ds.size(); ++i) {
    const Sample& s = samples[i];
    ASSERT_FALSE(s.caption.empty());
    EXPECT_EQ(ds.get(i).caption, s.caption);  // deterministic
    if (i < 20) {
      const Sample p = plain.get(i);
      EXPECT_TRUE(p.caption.empty());
      EXPECT_EQ(cv::norm(p.image, s.image, cv::NORM_INF), 0) << "captions changed scene " << i;
    }
    std::vector<int> area(names.size(), 0);
    for (int y = 0; y < 96; ++y)
      for (int x = 0; x < 96; ++x) ++area[size_t(s.label.at<int32_t>(y, x))];
    auto area_of = [&](const std::string& n) {
      return area[size_t(std::find(names.begin(), names.end(), n) - names.begin())];
    };

    const SceneContent content = ds.content(i);
    for (size_t k = 0; k < content.backgrounds.size(); ++k) {
      EXPECT_GE(area_of(content.backgrounds[k]), threshold) << content.backgrounds[k] << " in scene " << i;
      if (k > 0) EXPECT_GE(area_of(content.backgrounds[k - 1]), area_of(content.backgrounds[k]));
    }
    for (const auto& obj : content.objects) EXPECT_GE(area_of(obj), threshold) << obj << " in scene " << i;
    for (size_t c = 0; c < 8; ++c)  // every visible background is in the content
      if (area[c] >= threshold) EXPECT_TRUE(contains(content.backgrounds, names[c])) << names[c] << " " << i;

    const CaptionMentions m = parse_caption(s.caption);
    EXPECT_TRUE(m.stray.empty()) << s.caption;
    EXPECT_FALSE(m.objects.empty() && m.backgrounds.empty()) << s.caption;
    for (const auto& [name, count] : m.objects) {
      EXPECT_GE(area_of(name), threshold) << "'" << s.caption << "' names " << name << " (scene " << i << ")";
      EXPECT_LE(count, std::count(content.objects.begin(), content.objects.end(), name)) << s.caption;
      words.insert(name.substr(0, name.find(' ')));
      words.insert(name.substr(name.find(' ') + 1));
    }
    for (const auto& b : m.backgrounds) {
      EXPECT_TRUE(contains(content.backgrounds, b)) << "'" << s.caption << "' names " << b << " (scene " << i << ")";
      EXPECT_GE(area_of(b), threshold) << s.caption;
      words.insert(b);
    }
  }
  for (const auto* list : {&kCaptionColours, &kCaptionGeometries, &kCaptionBackgrounds})
    for (const auto& w : *list) EXPECT_TRUE(words.count(w)) << "no caption says '" << w << "'";
}

TEST(WindowCaptions, DescribeLabelWindowNamesWhatTheWindowShows) {
  // 8 x 8: sky on the left half, grass on the right, a 2 x 2 red star at rows/columns 1-2, an ignored bottom row.
  auto label = torch::zeros({8, 8}, torch::kLong);
  label.slice(1, 4, 8).fill_(1);
  label.slice(0, 1, 3).slice(1, 1, 3).fill_(2);
  label[7].fill_(255);
  const std::vector<std::string> names = {"sky", "grass", "red star"};
  const std::vector<bool> grounds = {true, true, false};
  auto window = [&](int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    return describe_label_window(label, y0, y1, x0, x1, names, grounds);
  };
  auto top_left = window(0, 4, 0, 4);
  EXPECT_EQ(top_left.backgrounds, std::vector<std::string>{"sky"});
  EXPECT_EQ(top_left.objects, std::vector<std::string>{"red star"});
  auto right = window(0, 7, 4, 8);
  EXPECT_EQ(right.backgrounds, std::vector<std::string>{"grass"});
  EXPECT_TRUE(right.objects.empty());
  // Whole map (56 labelled of 64): grass 28 before sky 24; the star's 4 pixels reach 5 % of 64 (4).
  auto whole = window(0, 8, 0, 8);
  EXPECT_EQ(whole.backgrounds, (std::vector<std::string>{"grass", "sky"}));
  EXPECT_EQ(whole.objects, std::vector<std::string>{"red star"});
  // One star pixel in a 5 x 5 window is under 5 %; a window of the star alone names it alone.
  EXPECT_TRUE(window(2, 7, 2, 7).objects.empty());
  auto star = window(1, 3, 1, 3);
  EXPECT_TRUE(star.backgrounds.empty());
  EXPECT_EQ(star.objects, std::vector<std::string>{"red star"});
  // Only ignored pixels: nothing to name.
  auto ignored = window(7, 8, 0, 8);
  EXPECT_TRUE(ignored.backgrounds.empty() && ignored.objects.empty());
  EXPECT_THROW(window(0, 9, 0, 4), pat::Error);
  EXPECT_THROW(window(4, 4, 0, 4), pat::Error);
  EXPECT_THROW(describe_label_window(label, 0, 4, 0, 4, names, {true, true}), pat::Error);
  EXPECT_THROW(describe_label_window(label.to(torch::kFloat32), 0, 4, 0, 4, names, grounds), pat::Error);
}

TEST(WindowCaptions, DrawnWindowsLieOnThePatchGridAndTheirCaptionsNameOnlyTheirContent) {
  SyntheticOptions o;
  o.image_size = 48;
  o.num_images = 4;
  o.seed = 11;
  const SyntheticDataset scenes(o);
  const auto& names = scenes.class_names();
  const auto objects = synthetic_object_classes(names);
  std::vector<bool> grounds;
  for (const auto& n : names) grounds.push_back(!contains(objects, n));
  std::set<int64_t> sizes;
  int with_object = 0, total = 0, holds_object = 0;
  double uniform_rate = 0;  // the mean over the images
  for (size_t i = 0; i < scenes.size(); ++i) {
    const cv::Mat mat = scenes.get(i).label;
    const auto label = torch::from_blob(mat.data, {mat.rows, mat.cols}, torch::kInt32).clone();
    const auto centres = label.slice(0, 2, 48, 4).slice(1, 2, 48, 4);  // the class at each patch centre
    for (int64_t size = 3; size <= 8; ++size) {                        // sizes are uniform, then positions
      double holding = 0, placements = 0;
      for (int64_t top = 0; top + size <= 12; ++top)
        for (int64_t left = 0; left + size <= 12; ++left, ++placements)
          holding += (centres.slice(0, top, top + size).slice(1, left, left + size) >= 8).any().item<bool>();
      uniform_rate += holding / placements / 6.0 / double(scenes.size());
    }
    Rng r(i), again(i);
    const auto windows = draw_captioned_windows(label, 4, 100, names, grounds, r);
    ASSERT_EQ(windows.size(), 100u);  // no ignored pixels: every window has a caption
    const auto repeat = draw_captioned_windows(label, 4, 100, names, grounds, again);
    for (size_t k = 0; k < windows.size(); ++k) {
      const auto& w = windows[k];
      ++total;
      sizes.insert(w.size);
      EXPECT_GE(w.size, 3);  // a quarter to two thirds of the 12-patch grid
      EXPECT_LE(w.size, 8);
      EXPECT_GE(w.top, 0);
      EXPECT_GE(w.left, 0);
      EXPECT_LE(w.top + w.size, 12);
      EXPECT_LE(w.left + w.size, 12);
      EXPECT_EQ(w.caption, repeat[k].caption);  // a function of the generator
      const auto content = describe_label_window(label, w.top * 4, (w.top + w.size) * 4, w.left * 4,
                                                 (w.left + w.size) * 4, names, grounds);
      const CaptionMentions m = parse_caption(w.caption);
      EXPECT_TRUE(m.stray.empty()) << w.caption;
      for (const auto& [name, count] : m.objects) EXPECT_TRUE(contains(content.objects, name)) << w.caption;
      for (const auto& b : m.backgrounds) EXPECT_TRUE(contains(content.backgrounds, b)) << w.caption;
      with_object += !m.objects.empty();
      // Does the window hold a patch whose centre pixel shows an object?
      const auto inside = centres.slice(0, w.top, w.top + w.size).slice(1, w.left, w.left + w.size);
      holds_object += (inside >= 8).any().item<bool>();  // the catalogue's 8 backgrounds come first
    }
  }
  // Half of the windows are placed on an object patch: they hold one at rate 0.5 + 0.5 u, where u is the rate of
  // uniformly placed windows (counted exactly over every size and position); the midpoint tells the two apart.
  EXPECT_GT(double(holds_object), double(total) * (1.0 + 3.0 * uniform_rate) / 4.0);
  EXPECT_LT(uniform_rate, 0.8);
  EXPECT_EQ(sizes.size(), 6u);  // every size from 3 to 8 patches occurs
  EXPECT_GT(with_object, total / 10);
  EXPECT_LT(with_object, total);
  // A map of ignored pixels has no window to caption; a map off the patch grid is an error.
  Rng r(0);
  EXPECT_TRUE(draw_captioned_windows(torch::full({8, 8}, 255, torch::kLong), 4, 3, names, grounds, r).empty());
  EXPECT_THROW(draw_captioned_windows(torch::zeros({10, 8}, torch::kLong), 4, 3, names, grounds, r), pat::Error);
}
