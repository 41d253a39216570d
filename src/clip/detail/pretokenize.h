#pragma once
/// \file CLIP's pre-tokenization: Python `regex.findall` of
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` with IGNORECASE.

#include <string>
#include <vector>

namespace pat::clip::detail {

/// The matches, in order, as UTF-8. Whitespace separates matches and is dropped; so is U+0345 (under
/// IGNORECASE it case-folds to a letter, so it leaves the last class without joining the letter class).
std::vector<std::string> pretokenize(const std::u32string& text);

}  // namespace pat::clip::detail
