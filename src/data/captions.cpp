#include "pat/data/captions.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "pat/core/error.h"

namespace pat::data {
namespace {

/// "red star" -> "red stars", "blue cross" -> "blue crosses" (the last word is the noun).
std::string caption_plural(const std::string& name) {
  auto ends = [&](const char* tail) {
    const std::string t(tail);
    return name.size() >= t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0;
  };
  return name + (ends("s") || ends("x") || ends("sh") || ends("ch") ? "es" : "s");
}

std::string caption_article(const std::string& word) {
  return std::string(std::strchr("aeiou", word.empty() ? 'x' : word[0]) ? "an " : "a ") + word;
}

/// One object class with how many of it the caption names: "a red star", "two red stars".
std::string object_phrase(const std::string& name, size_t count) {
  static const char* const kCountWords[] = {"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  if (count == 1) return caption_article(name);
  return std::string(count < 10 ? kCountWords[count] : "many") + " " + caption_plural(name);
}

/// A background as a noun phrase; `some` allows "some grass" for the uncountable ones.
std::string background_phrase(const std::string& name, Rng& r, bool some) {
  if (name == "sky") return r.bernoulli(0.7) ? "the sky" : (some ? "some sky" : "sky");
  if (name == "road" || name == "wall") return (r.bernoulli(0.5) ? "a " : "the ") + name;
  if (some && r.bernoulli(0.35)) return "some " + name;
  return name;
}

/// The preposition that puts objects in front of background `name`.
std::string preposition(const std::string& name, Rng& r) {
  if (name == "sky") return r.bernoulli(0.5) ? "in" : "against";
  if (name == "wall") return r.bernoulli(0.5) ? "against" : "in front of";
  return r.bernoulli(0.6) ? "on" : "over";
}

/// "a", "a and b", "a, b and c".
std::string join_phrases(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

}  // namespace

int visible_pixel_threshold(int64_t pixels) {
  const int64_t one_percent = (pixels + 99) / 100;
  return int(std::max<int64_t>(1, std::min<int64_t>(30, one_percent)));
}

std::string make_caption(const SceneContent& content, Rng& r) {
  PAT_CHECK(!content.objects.empty() || !content.backgrounds.empty(),
            "make_caption: the scene content is empty (no visible background or object)");
  // Objects: all of them or a random non-empty part, in random order, repeated classes counted.
  std::vector<std::string> chosen = content.objects;
  r.shuffle(chosen);
  if (chosen.size() > 1 && r.bernoulli(0.45)) chosen.resize(size_t(r.randint(1, int64_t(chosen.size()))));
  std::vector<std::pair<std::string, size_t>> groups;
  for (const auto& name : chosen) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; });
    if (it == groups.end())
      groups.emplace_back(name, 1);
    else
      ++it->second;
  }
  std::vector<std::string> objects;
  for (const auto& [name, count] : groups) objects.push_back(object_phrase(name, count));

  // Backgrounds: none (when an object is named), the largest one, or all of them.
  std::vector<std::string> grounds = content.backgrounds;
  const double u = r.uniform();
  if (!objects.empty() && u < 0.25)
    grounds.clear();
  else if (grounds.size() > 1 && u < 0.7)
    grounds.resize(1);
  else if (grounds.size() > 1 && r.bernoulli(0.3))
    r.shuffle(grounds);

  std::string caption;
  if (grounds.empty()) {
    static const char* const kLeads[] = {"", "a photo of ", "a picture of ", "an image of ", "a scene with "};
    caption = kLeads[r.randint(0, 5)] + join_phrases(objects);
  } else if (objects.empty()) {
    std::vector<std::string> bg;
    for (const auto& g : grounds) bg.push_back(background_phrase(g, r, false));
    static const char* const kLeads[] = {"", "a photo of ", "a picture of ", "a view of ", "an empty scene of "};
    caption = kLeads[r.randint(0, 5)] + join_phrases(bg);
  } else {
    const int form = int(r.randint(0, 7));
    std::vector<std::string> bg;
    for (const auto& g : grounds) bg.push_back(background_phrase(g, r, form == 3));
    const std::string o = join_phrases(objects), b = join_phrases(bg);
    switch (form) {
      case 0:
        caption = "a photo of " + o + " " + preposition(grounds[0], r) + " " + b;
        break;
      case 1:
        caption = o + " " + preposition(grounds[0], r) + " " + b;
        break;
      case 2:
        caption = b + " with " + o;
        break;
      case 3: {  // one list: "a red star, a blue circle and some sky"
        std::vector<std::string> all = objects;
        all.insert(all.end(), bg.begin(), bg.end());
        caption = join_phrases(all);
        break;
      }
      case 4:
        caption = "a picture of " + b + " with " + o;
        break;
      case 5:
        caption = "an image of " + o + " " + preposition(grounds[0], r) + " " + b;
        break;
      default:
        caption = "a scene with " + o + " " + preposition(grounds[0], r) + " " + b;
        break;
    }
  }
  for (char& c : caption) c = char(std::tolower(static_cast<unsigned char>(c)));
  return caption;
}

}  // namespace pat::data
