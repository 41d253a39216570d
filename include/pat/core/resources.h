#pragma once
/// \file PAT's data files: the vendored CLIP BPE vocabulary (third_party/clip) and CAT-Seg's benchmark
/// class lists (third_party/catseg). The build copies them into `<build>/share/pat`, `cmake --install`
/// into `<prefix>/share/pat`; they are found relative to the running executable, so a fresh clone, a
/// build tree and an installed tree all work without any path in a config.

#include <string>
#include <vector>

namespace pat {

/// The folders searched for data files, in order: `$PAT_DATA_DIR` (when set), `<exe dir>/../share/pat`,
/// the install prefix's `share/pat`.
std::vector<std::string> data_dirs();

/// The first `<dir>/<relative>` of `data_dirs()` that exists; a `pat::Error` naming the file and every
/// folder tried otherwise.
std::string data_file(const std::string& relative);

/// The vendored `bpe_simple_vocab_16e6.txt.gz` (the default of `model.clip.vocab`).
std::string default_vocab_path();

/// The vendored class list of a CAT-Seg benchmark (`coco`, `ade150`, `ade847`, `pc59`, `pc459`, `voc20`,
/// `voc20b`); a `pat::Error` listing the known names otherwise.
std::string benchmark_class_file(const std::string& benchmark);

}  // namespace pat
