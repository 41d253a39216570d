#include "clip/detail/html_unescape.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "clip/detail/unicode.h"

namespace pat::clip::detail {
namespace {

struct Entity {
  const char* name;
  const char* value;
};

struct Charref {
  char32_t code;
  const char* value;
};

#include "clip/detail/html_entities.inc"

template <size_t N>
const char* find_entity(const Entity (&table)[N], const std::string& name) {
  const Entity* end = table + N;
  const Entity* it = std::lower_bound(
      table, end, name, [](const Entity& e, const std::string& key) { return std::strcmp(e.name, key.c_str()) < 0; });
  return it != end && name == it->name ? it->value : nullptr;
}

bool is_ascii_digit(char32_t c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_hex(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ascii_alnum(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Only ASCII names can be in the tables; anything else is simply not found.
std::string ascii_key(const std::u32string& text, size_t begin, size_t end) {
  std::string key;
  key.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    if (text[i] >= 0x80) return std::string();
    key.push_back(static_cast<char>(text[i]));
  }
  return key;
}

void append_utf8_value(std::u32string& out, const char* value) {
  const std::u32string decoded = utf8_to_u32(value);
  out += decoded;
}

// Python's _replace_charref for a numeric reference with the given (saturated) value.
void append_numeric(std::u32string& out, uint64_t number) {
  for (const Charref& ref : kInvalidCharrefs) {
    if (ref.code == number) {
      append_utf8_value(out, ref.value);
      return;
    }
  }
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    out.push_back(0xFFFD);
    return;
  }
  const char32_t code = static_cast<char32_t>(number);
  if (std::binary_search(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), code)) return;
  out.push_back(code);
}

// Matches Python's `_charref` regex at text[pos] == '&' and appends the replacement; returns the length
// consumed (0 when nothing matches there).
size_t unescape_at(const std::u32string& text, size_t pos, std::u32string& out) {
  const size_t n = text.size();
  size_t i = pos + 1;
  if (i < n && text[i] == '#') {
    ++i;
    int base = 10;
    if (i < n && (text[i] == 'x' || text[i] == 'X') && i + 1 < n && is_ascii_hex(text[i + 1])) {
      base = 16;
      ++i;
    } else if (!(i < n && is_ascii_digit(text[i]))) {
      return 0;
    }
    uint64_t number = 0;
    constexpr uint64_t kSaturated = 0x110000;  // anything above U+10FFFF decodes the same
    while (i < n && (base == 16 ? is_ascii_hex(text[i]) : is_ascii_digit(text[i]))) {
      const char32_t c = text[i];
      const uint64_t digit = is_ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
      number = std::min<uint64_t>(number * base + digit, kSaturated);
      ++i;
    }
    if (i < n && text[i] == ';') ++i;
    append_numeric(out, number);
    return i - pos;
  }
  // [^\t\n\f <&#;]{1,32};?
  size_t end = i;
  while (end < n && end - i < 32) {
    const char32_t c = text[end];
    if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';') break;
    ++end;
  }
  if (end == i) return 0;
  if (end < n && text[end] == ';') ++end;
  if (const char* value = find_entity(kHtml5, ascii_key(text, i, end))) {
    append_utf8_value(out, value);
    return end - pos;
  }
  // The longest prefix (at least 2 characters) that is a name, the rest kept.
  for (size_t x = end - i - 1; x >= 2; --x) {
    if (const char* value = find_entity(kHtml5, ascii_key(text, i, i + x))) {
      append_utf8_value(out, value);
      out.append(text, i + x, end - (i + x));
      return end - pos;
    }
  }
  out.push_back('&');
  out.append(text, i, end - i);
  return end - pos;
}

}  // namespace

std::u32string html_unescape(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text[pos] == '&') {
      const size_t used = unescape_at(text, pos, out);
      if (used > 0) {
        pos += used;
        continue;
      }
    }
    out.push_back(text[pos++]);
  }
  return out;
}

std::u32string ftfy_unescape_html(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  const size_t n = text.size();
  for (size_t pos = 0; pos < n;) {
    if (text[pos] != '&') {
      out.push_back(text[pos++]);
      continue;
    }
    // &#?[0-9A-Za-z]{1,24};
    const bool numeric = pos + 1 < n && text[pos + 1] == '#';
    const size_t begin = pos + 1 + (numeric ? 1 : 0);
    size_t end = begin;
    while (end < n && end - begin < 24 && is_ascii_alnum(text[end])) ++end;
    if (end == begin || end >= n || text[end] != ';') {
      out.push_back(text[pos++]);
      continue;
    }
    const std::u32string match = text.substr(pos, end + 1 - pos);
    if (!numeric) {
      const std::string key = ascii_key(text, begin, end + 1);
      const char* value = find_entity(kHtml5, key);
      if (value == nullptr) value = find_entity(kFtfyUpper, key);
      if (value != nullptr)
        append_utf8_value(out, value);
      else
        out += match;
    } else {
      std::u32string decoded;
      const size_t used = unescape_at(text, pos, decoded);
      // Keep the reference unless html.unescape consumed it including the ';'.
      if (used == match.size() && decoded.find(U';') == std::u32string::npos)
        out += decoded;
      else
        out += match;
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace pat::clip::detail
