#pragma once
/// \file File-system helpers: whole-file reads, atomic writes, output directories.

#include <functional>
#include <string>

namespace pat {

/// Reads a whole file; a missing or unreadable file is a `pat::Error` naming `what` and the path.
std::string read_file(const std::string& path, const std::string& what = "file");

/// Writes through a temporary file next to `path` and renames it into place, so a crash or a kill
/// never leaves a half-written `path`. `write` receives the temporary path and must create it.
/// Errors (unwritable directory, full disk) are `pat::Error`s naming `path`; the temporary is removed.
void write_atomic(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

/// `write_atomic` for bytes already in memory.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Creates `dir` (and parents) if needed and checks that it is writable.
void ensure_directory(const std::string& dir, const std::string& what = "output directory");

}  // namespace pat
