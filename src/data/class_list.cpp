#include "pat/data/class_list.h"

#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat::data {
namespace {

bool is_blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

}  // namespace

void validate_class_names(const std::vector<std::string>& names, const std::string& source) {
  PAT_CHECK(!names.empty(), "class list ", source, ": no class names");
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    PAT_CHECK(!is_blank(names[i]), "class list ", source, ": entry ", i, " is empty");
    auto [it, inserted] = seen.emplace(names[i], i);
    PAT_CHECK(inserted, "class list ", source, ": entry ", i, " '", names[i], "' duplicates entry ", it->second);
  }
}

std::vector<std::string> load_class_names(const std::string& path) {
  const std::string text = read_file(path, "class list");
  std::vector<std::string> names;
  const size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      PAT_FAIL("class list ", path, ": invalid JSON (", e.what(), ")");
    }
    PAT_CHECK(j.is_array(), "class list ", path, ": expected a JSON array of strings");
    for (size_t i = 0; i < j.size(); ++i) {
      PAT_CHECK(j[i].is_string(), "class list ", path, ": entry ", i, " is not a string");
      names.push_back(j[i].get<std::string>());
    }
  } else {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      names.push_back(line);
    }
    while (!names.empty() && names.back().empty()) names.pop_back();
    if (!names.empty() && names.front().rfind("\xEF\xBB\xBF", 0) == 0) names.front().erase(0, 3);
  }
  validate_class_names(names, path);
  return names;
}

void save_class_names(const std::string& path, const std::vector<std::string>& names) {
  validate_class_names(names, path);
  std::string out = "[\n";
  for (size_t i = 0; i < names.size(); ++i) {
    out += "  " + nlohmann::json(names[i]).dump() + (i + 1 < names.size() ? ",\n" : "\n");
  }
  out += "]\n";
  write_file_atomic(path, out);
}

std::string first_synonym(const std::string& entry) {
  std::string s = entry.substr(0, entry.find(','));
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace pat::data
