#include "pat/clip/tokenizer.h"

#include <mutex>
#include <unordered_map>

#include <torch/torch.h>

#include "clip/detail/bpe.h"
#include "clip/detail/pretokenize.h"
#include "clip/detail/text_clean.h"
#include "clip/detail/unicode.h"
#include "pat/core/error.h"
#include "pat/core/log.h"

namespace pat::clip {
namespace {

// The per-word cache is dropped when it grows past this many words (Python's is unbounded).
constexpr size_t kMaxCachedWords = 200000;

// The text as an error message shows it: at most ~60 bytes, cut at a character boundary.
std::string shorten(const std::string& text) {
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return text;
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

}  // namespace

struct Tokenizer::State {
  detail::BpeVocab vocab;
  mutable std::mutex mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  void encode_word(const std::string& word, std::vector<int64_t>& out) const {
    if (word == "<|startoftext|>") {
      out.push_back(vocab.start_id);
      return;
    }
    if (word == "<|endoftext|>") {
      out.push_back(vocab.end_id);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      const auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int64_t> ids;
    vocab.encode_word(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(mutex);
    if (cache.size() >= kMaxCachedWords) cache.clear();
    cache.emplace(word, std::move(ids));
  }
};

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_bpe_file(const std::string& path) {
  auto state = std::make_unique<State>();
  state->vocab = detail::load_bpe_vocab(path);
  PAT_LOG_DEBUG("CLIP tokenizer: {} ids, {} merges from {}", state->vocab.tokens.size(), state->vocab.merges.size(),
                path);
  return Tokenizer(std::move(state));
}

Tokenizer Tokenizer::byte_level() {
  auto state = std::make_unique<State>();
  state->vocab = detail::byte_level_vocab();
  return Tokenizer(std::move(state));
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& word : detail::pretokenize(detail::clean_text(text))) state_->encode_word(word, ids);
  return ids;
}

std::vector<int64_t> Tokenizer::tokenize(const std::string& text, int64_t context_length, bool truncate) const {
  PAT_CHECK(context_length >= 2, "Tokenizer::tokenize: context_length must be at least 2 (start and end), got ",
            context_length);
  std::vector<int64_t> ids;
  ids.push_back(start_id());
  const std::vector<int64_t> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(end_id());
  if (static_cast<int64_t>(ids.size()) > context_length) {
    PAT_CHECK(truncate, "text \"", shorten(text), "\" is ", ids.size(), " tokens, longer than the context length ",
              context_length, " (shorten it or enable truncation)");
    ids.resize(static_cast<size_t>(context_length));
    ids.back() = end_id();
  }
  return ids;
}

torch::Tensor Tokenizer::tokenize_batch(const std::vector<std::string>& texts, int64_t context_length,
                                        bool truncate) const {
  PAT_CHECK(context_length >= 2, "Tokenizer::tokenize_batch: context_length must be at least 2 (start and end), got ",
            context_length);
  torch::Tensor result = torch::zeros({static_cast<int64_t>(texts.size()), context_length}, torch::kInt64);
  auto rows = result.accessor<int64_t, 2>();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int64_t> ids = tokenize(texts[i], context_length, truncate);
    for (size_t j = 0; j < ids.size(); ++j) rows[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = ids[j];
  }
  return result;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  const auto& tokens = state_->vocab.tokens;
  std::string bytes;
  for (int64_t id : ids) {
    PAT_CHECK(id >= 0 && id < static_cast<int64_t>(tokens.size()), "Tokenizer::decode: id ", id,
              " is outside the vocabulary [0, ", tokens.size(), ")");
    bytes += tokens[static_cast<size_t>(id)];
  }
  std::string text = detail::u32_to_utf8(detail::utf8_to_u32(bytes));
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out.push_back(' ');
      i += 4;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

int64_t Tokenizer::vocab_size() const {
  return static_cast<int64_t>(state_->vocab.tokens.size());
}
int64_t Tokenizer::start_id() const {
  return state_->vocab.start_id;
}
int64_t Tokenizer::end_id() const {
  return state_->vocab.end_id;
}

}  // namespace pat::clip
