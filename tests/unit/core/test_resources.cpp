#include "pat/core/resources.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "pat/core/error.h"
#include "pat/data/class_list.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "";
}

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { old_.empty() ? ::unsetenv(name_) : ::setenv(name_, old_.c_str(), 1); }

 private:
  const char* name_;
  std::string old_;
};

}  // namespace

TEST(Resources, FindsTheVendoredDataBesideTheExecutable) {
  // The tests run from <build>/bin: the data sits in <build>/share/pat, copied from third_party/.
  const auto vocab = pat::default_vocab_path();
  EXPECT_EQ(fs::path(vocab).filename(), "bpe_simple_vocab_16e6.txt.gz");
  EXPECT_EQ(fs::file_size(vocab), 1356917u);
  EXPECT_EQ(fs::path(vocab).parent_path().parent_path().filename(), "pat");
  EXPECT_EQ(pat::data::load_class_names(pat::benchmark_class_file("ade847")).size(), 847u);
  EXPECT_EQ(pat::data::load_class_names(pat::benchmark_class_file("voc20b")).size(), 59u);
}

TEST(Resources, DataDirOverrideComesFirst) {
  pat::test::TempDir dir;
  fs::create_directories(dir.file("catseg"));
  std::ofstream(dir.file("catseg/pc59.json")) << "[\"only\"]";
  ScopedEnv env("PAT_DATA_DIR", dir.path());
  EXPECT_EQ(pat::data_dirs().front(), dir.path());
  EXPECT_EQ(pat::benchmark_class_file("pc59"), dir.file("catseg/pc59.json"));
  // Files the override lacks still come from the build tree.
  EXPECT_NE(pat::benchmark_class_file("pc459").find("share/pat/catseg/pc459.json"), std::string::npos);
}

TEST(Resources, ClearErrors) {
  const auto missing = error_of([] { pat::data_file("clip/no_such_vocab.txt.gz"); });
  EXPECT_NE(missing.find("clip/no_such_vocab.txt.gz not found in "), std::string::npos) << missing;
  EXPECT_NE(missing.find("share/pat"), std::string::npos) << missing;
  EXPECT_NE(missing.find("PAT_DATA_DIR"), std::string::npos) << missing;
  const auto unknown = error_of([] { pat::benchmark_class_file("ade151"); });
  EXPECT_NE(unknown.find("'ade151' (known: coco, ade150, ade847, pc59, pc459, voc20, voc20b)"), std::string::npos)
      << unknown;
}
