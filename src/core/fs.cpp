#include "pat/core/fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pat/core/error.h"

namespace fs = std::filesystem;

namespace pat {

std::string read_file(const std::string& path, const std::string& what) {
  PAT_CHECK(fs::exists(path), what, " ", path, ": no such file");
  PAT_CHECK(!fs::is_directory(path), what, " ", path, ": expected a file, got a directory");
  std::ifstream in(path, std::ios::binary);
  PAT_CHECK(in.good(), what, " ", path, ": cannot open (", std::strerror(errno), ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  PAT_CHECK(!in.bad(), what, " ", path, ": read failed");
  return buffer.str();
}

void write_atomic(const std::string& path, const std::function<void(const std::string& tmp_path)>& write) {
  fs::path target(path);
  fs::path tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  try {
    write(tmp.string());
    PAT_CHECK(fs::exists(tmp), path, ": writer produced no file");
    // Flush file contents to disk before the rename makes them visible.
    if (FILE* f = std::fopen(tmp.c_str(), "rb+")) {
      ::fsync(fileno(f));
      std::fclose(f);
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    PAT_CHECK(!ec, path, ": cannot move the finished file into place (", ec.message(), ")");
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_atomic(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    PAT_CHECK(out.good(), path, ": cannot write (", std::strerror(errno), ")");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    PAT_CHECK(out.good(), path, ": write failed (disk full?)");
  });
}

void ensure_directory(const std::string& dir, const std::string& what) {
  PAT_CHECK(!dir.empty(), what, ": empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  PAT_CHECK(!ec, what, " ", dir, ": cannot create (", ec.message(), ")");
  PAT_CHECK(fs::is_directory(dir), what, " ", dir, ": exists but is not a directory");
  PAT_CHECK(::access(dir.c_str(), W_OK) == 0, what, " ", dir, ": not writable");
}

}  // namespace pat
