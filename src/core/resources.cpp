#include "pat/core/resources.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "pat/core/error.h"

namespace fs = std::filesystem;

namespace pat {
namespace {

const char* const kBenchmarks[] = {"coco", "ade150", "ade847", "pc59", "pc459", "voc20", "voc20b"};

std::string executable_dir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::vector<std::string> data_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("PAT_DATA_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  const auto exe_dir = executable_dir();
  if (!exe_dir.empty()) dirs.push_back((fs::path(exe_dir) / ".." / "share" / "pat").lexically_normal().string());
  dirs.emplace_back(PAT_INSTALL_DATADIR);
  return dirs;
}

std::string data_file(const std::string& relative) {
  std::string tried;
  for (const auto& dir : data_dirs()) {
    const auto path = fs::path(dir) / relative;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return path.string();
    tried += (tried.empty() ? "" : ", ") + dir;
  }
  PAT_FAIL("PAT data file ", relative, " not found in ", tried,
           " (set PAT_DATA_DIR to the share/pat folder of a PAT build or installation)");
}

std::string default_vocab_path() {
  return data_file("clip/bpe_simple_vocab_16e6.txt.gz");
}

std::string benchmark_class_file(const std::string& benchmark) {
  std::string known;
  for (const char* name : kBenchmarks) {
    if (benchmark == name) return data_file(std::string("catseg/") + name + ".json");
    known += std::string(known.empty() ? "" : ", ") + name;
  }
  PAT_FAIL("no vendored class list for benchmark '", benchmark, "' (known: ", known, ")");
}

}  // namespace pat
