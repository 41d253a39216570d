#pragma once
/// \file CLIP's text cleaning (simple_tokenizer.py basic_clean + whitespace_clean + lower), CLIP.md §4.

#include <string>

namespace pat::clip::detail {

/// ftfy.fix_text with its 6.x defaults minus mojibake repair: per line (a line with '<' turns HTML
/// unescaping off for it and every later line), repeated until stable: HTML entities, C1 controls as
/// Windows-1252, Latin ligatures, full/half width (NFKC of U+FF01..FFEF, U+3000 -> ' '), curly quotes,
/// line breaks -> '\n', ANSI escapes, dropped control characters, NFC.
std::u32string fix_text(const std::u32string& text);

/// The whole cleaning: fix_text, html.unescape twice, strip, `\s+` -> ' ', strip, str.lower().
/// Invalid UTF-8 in `text` becomes U+FFFD.
std::u32string clean_text(const std::string& text);

}  // namespace pat::clip::detail
