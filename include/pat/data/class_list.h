#pragma once
/// \file Class-name lists: CAT-Seg's JSON array format or a plain text file, one name per line.

#include <string>
#include <vector>

namespace pat::data {

/// Loads class names from `path`. A file whose first non-blank character is `[` is a JSON array of
/// strings (CAT-Seg format; synonyms joined by ", " stay one entry); anything else is text with one
/// name per line (trailing "\r" removed, trailing empty lines ignored). Names are kept verbatim
/// (e.g. ADE-150's "bed "). Empty or blank names, duplicates, an empty list, a missing file or bad
/// JSON are `pat::Error`s naming the file (and the entry).
std::vector<std::string> load_class_names(const std::string& path);

/// Checks a name list as `load_class_names` does; `source` names it in messages.
void validate_class_names(const std::vector<std::string>& names, const std::string& source);

/// Writes names as a JSON array (one entry per line), atomically.
void save_class_names(const std::string& path, const std::vector<std::string>& names);

/// The prompt name of an entry: its first synonym ("building, edifice" -> "building"), trimmed.
std::string first_synonym(const std::string& entry);

}  // namespace pat::data
