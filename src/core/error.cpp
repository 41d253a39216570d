#include "pat/core/error.h"

namespace pat {

Error::Error(const std::string& message) : std::runtime_error(detail::one_line(message)) {}

namespace detail {

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

void throw_error(const std::string& message) {
  throw Error(message);
}

void assert_fail(const char* condition, const char* file, int line, const std::string& message) {
  throw std::logic_error(str_cat("internal error (a bug in PAT): ", condition, " failed at ", file, ":", line,
                                 message.empty() ? "" : ": ", message));
}

}  // namespace detail
}  // namespace pat
