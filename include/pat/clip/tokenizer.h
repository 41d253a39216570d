#pragma once
/// \file CLIP's byte-pair-encoding tokenizer (OpenAI simple_tokenizer.py, see shared/design/CLIP.md §4),
/// plus a byte-level mode without merges for tiny models trained from scratch.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace pat::clip {

/// Text -> CLIP token ids, id for id as OpenAI's `clip.tokenize` (cleaning, lower-casing, pre-tokenization and
/// BPE of CLIP.md §4; checked against an independent Python reference). One deliberate difference: ftfy's
/// heuristic mojibake repair ("sÃ³" -> "só") is not ported; all its other default fixes are. Invalid UTF-8 in
/// the input is read as U+FFFD. All const methods may be called from several threads at once (the per-word
/// BPE cache is mutex-guarded).
class Tokenizer {
 public:
  /// Real CLIP BPE from `bpe_simple_vocab_16e6.txt.gz` (read with zlib). A missing file is a `pat::Error`
  /// that says where users get it. Vocabulary size 49408; <|startoftext|> 49406, <|endoftext|> 49407.
  static Tokenizer from_bpe_file(const std::string& path);

  /// Byte-level mode: no merges. Ids 0..255 are the byte characters, 256..511 the same with `</w>`,
  /// start 512, end 513; vocabulary size 514. Same cleaning and pre-tokenization as the BPE mode.
  static Tokenizer byte_level();

  /// Text to ids without start/end tokens (clean, lowercase, pre-tokenize, BPE).
  std::vector<int64_t> encode(const std::string& text) const;

  /// [start] + encode(text) + [end]. Longer than `context_length`: a `pat::Error` naming the text, unless
  /// `truncate`, which keeps the first `context_length` ids and sets the last one to the end id.
  /// `context_length` below 2 is a `pat::Error`.
  std::vector<int64_t> tokenize(const std::string& text, int64_t context_length = 77, bool truncate = false) const;

  /// `tokenize` for each text, zero-padded: [N, context_length] int64.
  torch::Tensor tokenize_batch(const std::vector<std::string>& texts, int64_t context_length = 77,
                               bool truncate = false) const;

  /// Ids back to text (`</w>` becomes a space; invalid UTF-8 replaced), as simple_tokenizer.decode.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const;
  int64_t start_id() const;
  int64_t end_id() const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

 private:
  struct State;
  explicit Tokenizer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pat::clip
