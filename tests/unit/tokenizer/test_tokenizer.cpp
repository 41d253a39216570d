// CLIP BPE tokenizer: known ids from CLIP.md, golden ids from tools/gen_tokenizer_golden.py (an independent
// Python reference), decode, byte-level mode and the user-error paths.
#include <zlib.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "clip/detail/text_clean.h"
#include "clip/detail/unicode.h"
#include "pat/clip/tokenizer.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/resources.h"
#include "test_support.h"

namespace {

using pat::clip::Tokenizer;
using Ids = std::vector<int64_t>;

std::string vocab_path() {
  return pat::default_vocab_path();
}

// Loaded once for the whole executable.
const Tokenizer& clip() {
  static const Tokenizer tokenizer = Tokenizer::from_bpe_file(vocab_path());
  return tokenizer;
}

const nlohmann::json& golden() {
  static const nlohmann::json json =
      nlohmann::json::parse(pat::read_file(pat::test::data_path("tokenizer/golden.json")));
  return json;
}

std::string cleaned(const std::string& text) {
  return pat::clip::detail::u32_to_utf8(pat::clip::detail::clean_text(text));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "(no pat::Error)";
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

TEST(Tokenizer, VocabularyLayout) {
  const Tokenizer& t = clip();
  EXPECT_EQ(t.vocab_size(), 49408);
  EXPECT_EQ(t.start_id(), 49406);
  EXPECT_EQ(t.end_id(), 49407);
  EXPECT_EQ(t.decode({0}), "!");
  EXPECT_EQ(t.decode({64}), "a");
  EXPECT_EQ(t.decode({320}), "a ");
  EXPECT_EQ(t.decode({512, 513}), "inth");
  EXPECT_EQ(t.decode({49405}), "jekyll ");
  EXPECT_EQ(t.decode({188}), std::string(1, '\0'));  // byte 0x00 is U+0100, the first non-printable byte
  EXPECT_EQ(t.decode({188 + 32}), " ");              // byte 0x20 ('Ġ')
  EXPECT_EQ(t.decode({49406, 49407}), "<|startoftext|><|endoftext|>");
}

TEST(Tokenizer, KnownTokenizations) {
  const Tokenizer& t = clip();
  EXPECT_EQ(t.tokenize("a photo of a cat."), (Ids{49406, 320, 1125, 539, 320, 2368, 269, 49407}));
  EXPECT_EQ(t.tokenize("traffic light"), (Ids{49406, 3399, 1395, 49407}));
  EXPECT_EQ(t.tokenize("ping-pong ball"), (Ids{49406, 2089, 268, 17710, 1069, 49407}));
  EXPECT_EQ(t.tokenize("a photo of the large goldfish."), (Ids{49406, 320, 1125, 539, 518, 3638, 40293, 269, 49407}));
  EXPECT_EQ(t.tokenize("itap of a tench."), (Ids{49406, 529, 2728, 539, 320, 1149, 634, 269, 49407}));
  EXPECT_EQ(t.tokenize("sofa"), (Ids{49406, 15723, 49407}));
  EXPECT_EQ(t.encode("sofa"), (Ids{15723}));
}

TEST(Tokenizer, GoldenCases) {
  const Tokenizer& t = clip();
  for (const auto& c : golden()["cases"]) {
    const std::string name = c["name"], text = c["text"];
    EXPECT_EQ(cleaned(text), c["cleaned"].get<std::string>()) << name;
    const Ids ids = c["ids"].get<Ids>();
    EXPECT_EQ(t.tokenize(text), ids) << name;
    EXPECT_EQ(t.decode(ids), c["decoded"].get<std::string>()) << name;
  }
}

TEST(Tokenizer, GoldenDecode) {
  for (const auto& c : golden()["decode"])
    EXPECT_EQ(clip().decode(c["ids"].get<Ids>()), c["text"].get<std::string>()) << c["ids"].dump();
}

TEST(Tokenizer, AdePromptsMatchReference) {
  const auto names = nlohmann::json::parse(pat::read_file(pat::benchmark_class_file("ade847")));
  const auto& expected = golden()["ade847"];
  ASSERT_EQ(names.size(), expected.size());
  std::vector<std::string> prompts;
  for (const auto& name : names) prompts.push_back("A photo of a " + name.get<std::string>() + " in the scene");
  const torch::Tensor batch = clip().tokenize_batch(prompts);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{static_cast<int64_t>(prompts.size()), 77}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Ids ids = expected[i].get<Ids>();
    Ids padded(77, 0);
    std::copy(ids.begin(), ids.end(), padded.begin());
    const torch::Tensor row = batch[static_cast<int64_t>(i)];
    EXPECT_EQ(Ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + 77), padded) << prompts[i];
  }
}

TEST(Tokenizer, ContextLength) {
  const Tokenizer& t = clip();
  const auto& g = golden()["long"];
  const std::string long_text = g["long_text"];
  const std::string message = error_of([&] { t.tokenize(long_text); });
  EXPECT_NE(message.find("a photo of a large goldfish"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(g["long_token_count"].get<int>()) + " tokens"), std::string::npos) << message;
  EXPECT_NE(message.find("77"), std::string::npos) << message;
  EXPECT_LT(message.size(), 250u) << message;
  EXPECT_EQ(t.tokenize(long_text, 77, true), g["long_truncated"].get<Ids>());
  EXPECT_EQ(t.tokenize(g["exact_text"].get<std::string>()), g["exact_ids"].get<Ids>());  // exactly 77 fits
  EXPECT_THROW(t.tokenize(g["over_text"].get<std::string>()), pat::Error);
  EXPECT_EQ(t.tokenize(g["over_text"].get<std::string>(), 77, true), g["over_truncated"].get<Ids>());
  EXPECT_EQ(t.tokenize("a photo of a cat.", 5, true), g["short_context"].get<Ids>());
  EXPECT_THROW(t.tokenize_batch({"sofa", long_text}), pat::Error);
  EXPECT_THROW(t.tokenize("sofa", 1), pat::Error);
  EXPECT_THROW(t.tokenize_batch({"sofa"}, 0), pat::Error);
  EXPECT_EQ(t.tokenize_batch({long_text}, 77, true)[0][76].item<int64_t>(), 49407);
}

TEST(Tokenizer, BatchIsZeroPaddedInt64) {
  const Tokenizer& t = clip();
  const torch::Tensor batch = t.tokenize_batch({"a photo of a cat.", "sofa", ""}, 10);
  ASSERT_EQ(batch.scalar_type(), torch::kInt64);
  const torch::Tensor expected = torch::tensor({49406, 320,   1125,  539, 320, 2368, 269, 49407, 0, 0,  //
                                                49406, 15723, 49407, 0,   0,   0,    0,   0,     0, 0,  //
                                                49406, 49407, 0,     0,   0,   0,    0,   0,     0, 0},
                                               torch::kInt64)
                                     .view({3, 10});
  EXPECT_TRUE(torch::equal(batch, expected));
  EXPECT_EQ(t.tokenize_batch({}).sizes(), (std::vector<int64_t>{0, 77}));
}

TEST(Tokenizer, DecodeRoundTrip) {
  const Tokenizer& t = clip();
  // Pre-tokens come back separated by single spaces (each ends with </w>).
  for (const std::string text : {"a photo of the large goldfish", "antidisestablishmentarianism", "東京タワー の 夜景",
                                 "🐱 ❤️ 🍕", "café crème", "it 's 4 2 !!!"})
    EXPECT_EQ(t.decode(t.encode(text)), text + " ") << text;
  EXPECT_EQ(t.decode(t.encode("A Photo, of 42 CATS!")), "a photo , of 4 2 cats ! ");  // one digit per token
  // Combining marks (\p{M}) are not letters: Devanagari signs become their own pre-tokens.
  EXPECT_EQ(t.decode(t.encode("नमस्ते")), "नमस ् त े ");
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacter) {
  const Tokenizer& t = clip();
  EXPECT_EQ(t.encode("bad \xff byte"), t.encode("bad \xef\xbf\xbd byte"));
  EXPECT_EQ(t.encode("\xed\xa0\x80"), t.encode("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));  // encoded surrogate
  EXPECT_EQ(t.encode("x\xe3\x81"), t.encode("x\xef\xbf\xbd"));                            // truncated sequence
}

TEST(Tokenizer, DecodeRejectsUnknownIds) {
  EXPECT_THROW(clip().decode({-1}), pat::Error);
  EXPECT_THROW(clip().decode({320, 49408}), pat::Error);
  EXPECT_THROW(Tokenizer::byte_level().decode({514}), pat::Error);
}

TEST(Tokenizer, ByteLevelMode) {
  const Tokenizer t = Tokenizer::byte_level();
  EXPECT_EQ(t.vocab_size(), 514);
  EXPECT_EQ(t.start_id(), 512);
  EXPECT_EQ(t.end_id(), 513);
  for (const auto& c : golden()["byte_level"]) {
    const Ids ids = c["ids"].get<Ids>();
    EXPECT_EQ(t.tokenize(c["text"].get<std::string>()), ids) << c["text"];
    EXPECT_EQ(t.decode(ids), c["decoded"].get<std::string>()) << c["text"];
  }
  // "ab" is the byte characters 'a' (64) then 'b' with </w> (256 + 65).
  EXPECT_EQ(t.encode("ab"), (Ids{64, 256 + 65}));
  EXPECT_EQ(t.tokenize("ab", 3, true), (Ids{512, 64, 513}));
}

TEST(Tokenizer, MovedTokenizerWorks) {
  Tokenizer a = Tokenizer::byte_level();
  Tokenizer b = std::move(a);
  EXPECT_EQ(b.encode("a"), (Ids{256 + 64}));
  a = std::move(b);
  EXPECT_EQ(a.encode("a"), (Ids{256 + 64}));
}

TEST(Tokenizer, ConcurrentEncodeMatchesSerial) {
  const Tokenizer fresh = Tokenizer::from_bpe_file(vocab_path());  // empty cache: the threads race to fill it
  std::vector<std::string> texts;
  std::vector<Ids> expected;
  for (const auto& c : golden()["cases"]) {
    texts.push_back(c["text"]);
    expected.push_back(clip().tokenize(texts.back()));
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 3; ++round)
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t j = (i * 7 + static_cast<size_t>(k) * 13) % texts.size();
          if (fresh.tokenize(texts[j]) != expected[j]) ++mismatches[static_cast<size_t>(k)];
        }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Tokenizer, MissingVocabularyNamesPathAndSource) {
  const std::string path = "/nonexistent/dir/bpe_simple_vocab_16e6.txt.gz";
  const std::string message = error_of([&] { Tokenizer::from_bpe_file(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("OpenAI CLIP"), std::string::npos) << message;
  EXPECT_NE(message.find("open_clip"), std::string::npos) << message;
  EXPECT_NE(message.find("tools/download_clip.sh"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(Tokenizer, CorruptVocabularyIsAnError) {
  pat::test::TempDir dir;
  const std::string plain = dir.file("plain.txt.gz");
  std::ofstream(plain) << "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n";
  std::string message = error_of([&] { Tokenizer::from_bpe_file(plain); });
  EXPECT_NE(message.find("not a gzip file"), std::string::npos) << message;
  EXPECT_NE(message.find(plain), std::string::npos) << message;

  const std::string bytes = pat::read_file(vocab_path());
  const std::string truncated = dir.file("truncated.txt.gz");
  pat::write_file_atomic(truncated, bytes.substr(0, bytes.size() / 2));
  message = error_of([&] { Tokenizer::from_bpe_file(truncated); });
  EXPECT_NE(message.find("unreadable"), std::string::npos) << message;

  const std::string short_file = dir.file("short.txt.gz");
  write_gzip(short_file, "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n");
  message = error_of([&] { Tokenizer::from_bpe_file(short_file); });
  EXPECT_NE(message.find("2 merge lines, expected 48894"), std::string::npos) << message;

  const std::string bad_line = dir.file("bad_line.txt.gz");
  write_gzip(bad_line, "header\ni n\nthe\n");
  message = error_of([&] { Tokenizer::from_bpe_file(bad_line); });
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;

  const std::string empty_dir = dir.path();
  EXPECT_THROW(Tokenizer::from_bpe_file(empty_dir), pat::Error);
}

}  // namespace
