#include "clip/detail/text_clean.h"

#include <array>

#include "clip/detail/html_unescape.h"
#include "clip/detail/unicode.h"

namespace pat::clip::detail {
namespace {

// ftfy segments text at line ends and at most this many code points.
constexpr size_t kMaxSegment = 1000000;

// Windows-1252 for 0x80..0x9F; the five undefined bytes stay C1 controls (ftfy's "sloppy" codec).
constexpr char32_t kCp1252[32] = {0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
                                  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

struct Ligature {
  char32_t from;
  const char32_t* to;
};

constexpr Ligature kLigatures[] = {
    {0x0132, U"IJ"},      {0x0133, U"ij"},      {0x0149, U"\u02BCn"}, {0x01F1, U"DZ"}, {0x01F2, U"Dz"}, {0x01F3, U"dz"},
    {0x01C4, U"D\u017D"}, {0x01C5, U"D\u017E"}, {0x01C6, U"d\u017E"}, {0x01C7, U"LJ"}, {0x01C8, U"Lj"}, {0x01C9, U"lj"},
    {0x01CA, U"NJ"},      {0x01CB, U"Nj"},      {0x01CC, U"nj"},      {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"},
    {0xFB03, U"ffi"},     {0xFB04, U"ffl"},     {0xFB05, U"\u017Ft"}, {0xFB06, U"st"},
};

// NFKC of U+FF01..U+FFEF (empty where it is the character itself).
const std::array<std::u32string, 0xFFF0 - 0xFF01>& width_table() {
  static const auto table = [] {
    std::array<std::u32string, 0xFFF0 - 0xFF01> t;
    for (char32_t c = 0xFF01; c < 0xFFF0; ++c) {
      std::u32string mapped = nfkc(std::u32string(1, c));
      if (mapped != std::u32string(1, c)) t[c - 0xFF01] = std::move(mapped);
    }
    return t;
  }();
  return table;
}

bool is_dropped_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// One pass of the character-level fixers (C1, ligatures, width, quotes, line breaks), in ftfy's order;
// each is a per-character mapping except CRLF, so they compose into one loop.
std::u32string map_characters(const std::u32string& text) {
  const auto& width = width_table();
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    if (c >= 0x80 && c <= 0x9F) c = kCp1252[c - 0x80];
    std::u32string piece(1, c);
    for (const Ligature& lig : kLigatures) {
      if (lig.from == c) {
        piece = lig.to;
        break;
      }
    }
    std::u32string widened;
    for (char32_t p : piece) {
      if (p == 0x3000) {
        widened.push_back(' ');
      } else if (p >= 0xFF01 && p < 0xFFF0 && !width[p - 0xFF01].empty()) {
        widened += width[p - 0xFF01];
      } else {
        widened.push_back(p);
      }
    }
    for (char32_t p : widened) {
      if (p >= 0x201C && p <= 0x201F) {
        p = '"';
      } else if (p == 0x02BC || (p >= 0x2018 && p <= 0x201B)) {
        p = '\'';
      }
      out.push_back(p);
    }
  }
  // Line breaks: "\r\n" -> "\n", then "\r", U+2028, U+2029, U+0085 -> "\n".
  std::u32string lines;
  lines.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const char32_t c = out[i];
    if (c == '\r' && i + 1 < out.size() && out[i + 1] == '\n') continue;
    lines.push_back(c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? U'\n' : c);
  }
  return lines;
}

// ftfy's remove_terminal_escapes: "\x1b[" (Nd digits | ';')* [a-zA-Z] removed.
std::u32string remove_terminal_escapes(const std::u32string& text) {
  if (text.find(U'\x1b') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() && (text[j] == ';' || is_decimal_digit(text[j]))) ++j;
      if (j < text.size() && ((text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z'))) {
        i = j + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::u32string fix_segment(std::u32string text, bool unescape) {
  while (true) {
    const std::u32string before = text;
    if (unescape) text = ftfy_unescape_html(text);
    text = map_characters(text);
    text = remove_terminal_escapes(text);
    std::u32string kept;
    kept.reserve(text.size());
    for (char32_t c : text)
      if (!is_dropped_control(c)) kept.push_back(c);
    text = nfc(kept);
    if (text == before) return text;
  }
}

std::u32string strip_python(const std::u32string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

}  // namespace

std::u32string fix_text(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  bool unescape = true;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find(U'\n', pos);
    end = end == std::u32string::npos ? text.size() : end + 1;
    if (end - pos > kMaxSegment) end = pos + kMaxSegment;
    const std::u32string segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape = false;
    out += fix_segment(segment, unescape);
    pos = end;
  }
  return out;
}

std::u32string clean_text(const std::string& text) {
  std::u32string value = fix_text(utf8_to_u32(text));
  value = strip_python(html_unescape(html_unescape(value)));
  std::u32string collapsed;
  collapsed.reserve(value.size());
  for (size_t i = 0; i < value.size();) {
    if (is_regex_space(value[i])) {
      while (i < value.size() && is_regex_space(value[i])) ++i;
      collapsed.push_back(' ');
    } else {
      collapsed.push_back(value[i++]);
    }
  }
  return to_lower(strip_python(collapsed));
}

}  // namespace pat::clip::detail
