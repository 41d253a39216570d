#pragma once
/// \file Small string predicates shared by the weight loaders and converters (C++17 has no
/// std::string::starts_with).

#include <string>

namespace pat {

/// True when `text` begins with `prefix`.
inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

/// True when `text` ends with `suffix`.
inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace pat
