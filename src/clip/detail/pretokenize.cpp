#include "clip/detail/pretokenize.h"

#include "clip/detail/unicode.h"

namespace pat::clip::detail {
namespace {

// Case-insensitive literal match as `regex` (simple case folding) does it for the characters in the
// pattern: ASCII letters in either case, and 's' also matches U+017F LATIN SMALL LETTER LONG S.
bool literal_at(const std::u32string& text, size_t pos, const char* literal, size_t& end) {
  size_t i = pos;
  for (const char* p = literal; *p != '\0'; ++p, ++i) {
    if (i >= text.size()) return false;
    const char32_t c = text[i];
    const char32_t want = static_cast<unsigned char>(*p);
    if (c == want) continue;
    if (want >= 'a' && want <= 'z' && c == want - 'a' + 'A') continue;
    if (want == 's' && c == 0x017F) continue;
    return false;
  }
  end = i;
  return true;
}

bool is_other(char32_t c) {
  return !is_regex_space(c) && !is_letter(c) && !is_number(c) && c != 0x0345;
}

}  // namespace

std::vector<std::string> pretokenize(const std::u32string& text) {
  static const char* const kSpecial[] = {"<|startoftext|>", "<|endoftext|>"};
  static const char* const kContractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  std::vector<std::string> tokens;
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    const char32_t c = text[pos];
    size_t end = pos;
    bool matched = false;
    if (c == '<') {
      for (const char* s : kSpecial)
        if (!matched) matched = literal_at(text, pos, s, end);
    } else if (c == '\'') {
      for (const char* s : kContractions)
        if (!matched) matched = literal_at(text, pos, s, end);
    }
    if (!matched) {
      if (is_letter(c)) {
        end = pos + 1;
        while (end < n && is_letter(text[end])) ++end;
      } else if (is_number(c)) {
        end = pos + 1;
      } else if (is_other(c)) {
        end = pos + 1;
        while (end < n && is_other(text[end])) ++end;
      } else {  // whitespace (or U+0345): no match starts here
        ++pos;
        continue;
      }
    }
    tokens.push_back(u32_to_utf8(std::u32string_view(text).substr(pos, end - pos)));
    pos = end;
  }
  return tokens;
}

}  // namespace pat::clip::detail
