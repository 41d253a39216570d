#pragma once
/// \file User-facing errors (`pat::Error`, `PAT_CHECK`) and internal assertions (`PAT_ASSERT`).
///
/// Two tiers, as in faiss: `PAT_CHECK` is for problems a user can cause and fix (bad config, missing
/// file, wrong shape in input data); it throws `pat::Error` with a one-line message. `PAT_ASSERT` is for
/// invariants of our own code; a failure is a bug in PAT and says so.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace pat {

/// The one exception type the library throws for user-facing problems. `what()` is a single line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
};

namespace detail {

/// Concatenates any streamable arguments into one string.
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

/// Replaces line breaks with spaces so every error stays one line.
std::string one_line(std::string text);

[[noreturn]] void throw_error(const std::string& message);
[[noreturn]] void assert_fail(const char* condition, const char* file, int line, const std::string& message);

}  // namespace detail

/// Throws `pat::Error` built from the message parts when `cond` is false.
#define PAT_CHECK(cond, ...)                                                      \
  do {                                                                            \
    if (!(cond)) ::pat::detail::throw_error(::pat::detail::str_cat(__VA_ARGS__)); \
  } while (0)

/// Throws `pat::Error` unconditionally.
#define PAT_FAIL(...) ::pat::detail::throw_error(::pat::detail::str_cat(__VA_ARGS__))

/// Internal invariant: a failure is a bug in PAT, reported with file and line.
#define PAT_ASSERT(cond, ...)                                                                                       \
  do {                                                                                                              \
    if (!(cond))                                                                                                    \
      ::pat::detail::assert_fail(#cond, __FILE__, __LINE__, ::pat::detail::str_cat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)

}  // namespace pat
