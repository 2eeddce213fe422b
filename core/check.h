// Error handling for the whole library: zf::Error carries file:line, and ZF_CHECK throws it with a
// printf-style message. Library code never calls exit(); callers (CLIs, tests) decide what a
// failure means.
#pragma once

#include <stdexcept>
#include <string>

namespace zf {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// printf into a std::string.
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace zf

// ZF_CHECK(cond, "conv_forward: x has %d channels, w expects %d", a, b)
#define ZF_CHECK(cond, ...)                                                                   \
  do {                                                                                        \
    if (!(cond)) ::zf::detail::throw_error(__FILE__, __LINE__, ::zf::strprintf(__VA_ARGS__)); \
  } while (0)

#define ZF_THROW(...) ::zf::detail::throw_error(__FILE__, __LINE__, ::zf::strprintf(__VA_ARGS__))
