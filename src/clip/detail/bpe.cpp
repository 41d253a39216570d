#include "clip/detail/bpe.h"

#include <zlib.h>

#include <cctype>
#include <filesystem>
#include <limits>
#include <utility>

#include "clip/detail/unicode.h"
#include "pat/core/error.h"

namespace pat::clip::detail {
namespace {

constexpr const char* kStart = "<|startoftext|>";
constexpr const char* kEnd = "<|endoftext|>";
constexpr const char* kWordEnd = "</w>";
// simple_tokenizer.py keeps merges[1 : 49152 - 256 - 2 + 1]: lines 2..48895 of the file.
constexpr size_t kMergeCount = 49152 - 256 - 2;

// One line: what is wrong with the file, and where users get the real one.
template <typename... Args>
[[noreturn]] void vocab_error(const std::string& path, Args&&... problem) {
  PAT_FAIL("CLIP BPE vocabulary '", path, "' ", std::forward<Args>(problem)...,
           "; bpe_simple_vocab_16e6.txt.gz ships with OpenAI CLIP (clip/) and open_clip (src/open_clip/), "
           "or run tools/download_clip.sh");
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

void add_token(BpeVocab& vocab, std::string bytes) {
  vocab.ids[bytes] = static_cast<int32_t>(vocab.tokens.size());
  vocab.tokens.push_back(std::move(bytes));
}

// Ids 0..511: the byte characters, then the same with </w>.
BpeVocab base_vocab() {
  BpeVocab vocab;
  const auto order = byte_order();
  for (uint8_t b : order) add_token(vocab, std::string(1, static_cast<char>(b)));
  for (uint8_t b : order) add_token(vocab, std::string(1, static_cast<char>(b)) + kWordEnd);
  return vocab;
}

void finish_vocab(BpeVocab& vocab) {
  add_token(vocab, kStart);
  add_token(vocab, kEnd);
  vocab.start_id = vocab.ids.at(kStart);
  vocab.end_id = vocab.ids.at(kEnd);
  for (int b = 0; b < 256; ++b) {
    vocab.byte_id[b] = vocab.ids.at(std::string(1, static_cast<char>(b)));
    vocab.byte_end_id[b] = vocab.ids.at(std::string(1, static_cast<char>(b)) + kWordEnd);
  }
}

std::string read_gzip(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) vocab_error(path, "not found");
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) vocab_error(path, "cannot be opened");
  std::string data;
  char buffer[1 << 16];
  std::string error;
  while (true) {
    const int got = gzread(file, buffer, sizeof(buffer));
    if (got < 0) {
      int code = 0;
      error = gzerror(file, &code);
      break;
    }
    if (got == 0) break;
    if (gzdirect(file)) {
      error = "not a gzip file";
      break;
    }
    data.append(buffer, static_cast<size_t>(got));
  }
  const int closed = gzclose_r(file);
  if (error.empty() && closed != Z_OK) error = "corrupt gzip data";
  if (!error.empty()) vocab_error(path, "is unreadable (", error, ")");
  return data;
}

}  // namespace

std::array<uint8_t, 256> byte_order() {
  std::array<uint8_t, 256> order{};
  std::array<bool, 256> printable{};
  size_t k = 0;
  for (int b = 0; b < 256; ++b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
      printable[b] = true;
      order[k++] = static_cast<uint8_t>(b);
    }
  }
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) order[k++] = static_cast<uint8_t>(b);
  return order;
}

BpeVocab load_bpe_vocab(const std::string& path) {
  const std::string data = read_gzip(path);
  if (!is_valid_utf8(data)) vocab_error(path, "is corrupt (not UTF-8 text)");

  // Byte character (a code point below U+0144) -> byte, or -1.
  std::array<int, 0x144> byte_of;
  byte_of.fill(-1);
  {
    int extra = 0;
    for (uint8_t b : byte_order()) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      byte_of[printable ? b : 256 + extra++] = b;
    }
  }
  auto to_bytes = [&](const std::string& symbol, size_t line, std::string& bytes) {
    bytes.clear();
    for (char32_t c : utf8_to_u32(symbol)) {
      if (c >= byte_of.size() || byte_of[c] < 0)
        vocab_error(path, "is corrupt (line ", line, ": a character outside the byte alphabet)");
      bytes.push_back(static_cast<char>(byte_of[c]));
    }
  };

  BpeVocab vocab = base_vocab();
  vocab.ids.reserve(2 * (512 + kMergeCount + 2));
  vocab.merges.reserve(2 * kMergeCount);
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kMergeCount);
  size_t pos = data.find('\n');  // line 1 is the version header
  if (pos == std::string::npos) vocab_error(path, "is corrupt (no merge lines)");
  ++pos;
  std::string left, right;
  for (size_t line = 2; merges.size() < kMergeCount; ++line) {
    if (pos >= data.size())
      vocab_error(path, "is corrupt (", merges.size(), " merge lines, expected ", kMergeCount, ")");
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    // Split on ASCII whitespace into exactly two symbols.
    std::vector<std::string> parts;
    size_t i = pos;
    while (i < end) {
      while (i < end && std::isspace(static_cast<unsigned char>(data[i]))) ++i;
      size_t j = i;
      while (j < end && !std::isspace(static_cast<unsigned char>(data[j]))) ++j;
      if (j > i) parts.push_back(data.substr(i, j - i));
      i = j;
    }
    if (parts.size() != 2) vocab_error(path, "is corrupt (line ", line, " is not a merge 'a b')");
    to_bytes(parts[0], line, left);
    to_bytes(parts[1], line, right);
    add_token(vocab, left + right);
    merges.emplace_back(left, right);
    pos = end + 1;
  }
  finish_vocab(vocab);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto l = vocab.ids.find(merges[rank].first);
    const auto r = vocab.ids.find(merges[rank].second);
    if (l == vocab.ids.end() || r == vocab.ids.end()) continue;  // can never apply
    const int32_t merged = vocab.ids.at(merges[rank].first + merges[rank].second);
    vocab.merges[pair_key(l->second, r->second)] = {static_cast<int32_t>(rank), merged};
  }
  return vocab;
}

BpeVocab byte_level_vocab() {
  BpeVocab vocab = base_vocab();
  finish_vocab(vocab);
  return vocab;
}

void BpeVocab::encode_word(const std::string& bytes, std::vector<int64_t>& out) const {
  PAT_ASSERT(!bytes.empty());
  std::vector<int32_t> word(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    word[i] = i + 1 == bytes.size() ? byte_end_id[b] : byte_id[b];
  }
  std::vector<int32_t> next;
  next.reserve(word.size());
  while (word.size() > 1 && !merges.empty()) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    int32_t left = -1, right = -1, merged = -1;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges.find(pair_key(word[i], word[i + 1]));
      if (it != merges.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        left = word[i];
        right = word[i + 1];
        merged = it->second.merged;
      }
    }
    if (merged < 0) break;
    next.clear();
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
        next.push_back(merged);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }
  out.insert(out.end(), word.begin(), word.end());
}

}  // namespace pat::clip::detail
