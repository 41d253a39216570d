#pragma once
/// \file Code-point level helpers for the tokenizer: UTF-8 <-> UTF-32 with Python's error handling, and the
/// ICU operations (NFC/NFKC, full lower-casing, general categories) in Python's semantics.

#include <string>
#include <string_view>

namespace pat::clip::detail {

/// UTF-8 to code points. Invalid input becomes U+FFFD per maximal ill-formed subpart, as Python's
/// `bytes.decode("utf-8", errors="replace")` (encoded surrogates and overlong forms are invalid).
std::u32string utf8_to_u32(std::string_view text);

/// Code points to UTF-8 (the input holds only Unicode scalar values).
std::string u32_to_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t c);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

/// Unicode normalization forms (ICU, thread-safe).
std::u32string nfc(const std::u32string& text);
std::u32string nfkc(const std::u32string& text);

/// Python `str.lower()`: full case mapping, root locale, Final_Sigma ('İ' -> "i̇", final 'Σ' -> 'ς').
std::u32string to_lower(const std::u32string& text);

/// General-category classes as Python `regex` uses them: \p{L}, \p{N}, and `\d` of `re` (Nd).
bool is_letter(char32_t c);
bool is_number(char32_t c);
bool is_decimal_digit(char32_t c);

/// `regex`'s `\s` for str patterns: the 25 Unicode White_Space characters.
bool is_regex_space(char32_t c);

/// Python `str.isspace()`: White_Space plus U+001C..U+001F (bidi class B/S).
bool is_python_space(char32_t c);

}  // namespace pat::clip::detail
