#pragma once
/// \file CLIP's BPE vocabulary and merge loop (simple_tokenizer.py), on integer symbols.

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pat::clip::detail {

/// Vocabulary entries as raw bytes: a byte-character string maps one-to-one onto bytes (bytes_to_unicode
/// is a bijection), so "a</w>" is the 5 bytes 'a' '<' '/' 'w' '>'.
struct BpeVocab {
  struct Merge {
    int32_t rank;
    int32_t merged;  ///< id of left + right
  };

  std::vector<std::string> tokens;               ///< id -> bytes
  std::unordered_map<std::string, int32_t> ids;  ///< bytes -> id (the later id if a string repeats)
  std::array<int32_t, 256> byte_id{};            ///< id of a lone byte inside a word
  std::array<int32_t, 256> byte_end_id{};        ///< id of a byte ending a word (`</w>`)
  std::unordered_map<uint64_t, Merge> merges;    ///< (left id << 32 | right id) -> merge
  int32_t start_id = 0;
  int32_t end_id = 0;

  /// BPE of one pre-token (its UTF-8 bytes, not empty) appended to `out` as ids.
  void encode_word(const std::string& bytes, std::vector<int64_t>& out) const;
};

/// The 256 bytes in bytes_to_unicode order: 33..126, 161..172, 174..255, then the rest ascending.
std::array<uint8_t, 256> byte_order();

/// Reads `bpe_simple_vocab_16e6.txt.gz` (49408 ids). Missing, not gzip, or malformed: `pat::Error`.
BpeVocab load_bpe_vocab(const std::string& path);

/// No merges: 256 byte characters, the same with `</w>`, start 512, end 513.
BpeVocab byte_level_vocab();

}  // namespace pat::clip::detail
