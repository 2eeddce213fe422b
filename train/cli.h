// Shared command-line plumbing for the zf_* tools: CLI11 parsing whose errors are one short line on
// stderr (exit code 2), integer range checks that say "--batch 0: must be >= 1", and the one-line
// report of a failure.
#pragma once

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace zf {

// A command-line error found outside CLI11's own checks (a value out of range, options that do not
// go together): reported like CLI11's errors, with exit code 2.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace cli_detail {

// The check behind every integer range: "--batch 0: must be >= 1". It throws rather than returning
// CLI11's message string because CLI11 would prefix that with "--batch: " and we want the value
// beside the option's name; CLI11 lets anything but its own ValidationError through.
inline std::function<std::string(std::string&)> range_check(const std::string& opt, long long lo,
                                                            long long hi) {
  return [opt, lo, hi](std::string& value) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno == ERANGE)
      throw CliError(opt + " " + value + ": not an integer");
    if (v < lo || v > hi) {
      std::string rule = "must be >= " + std::to_string(lo);
      if (hi != LLONG_MAX) rule = "must be in " + std::to_string(lo) + ".." + std::to_string(hi);
      throw CliError(opt + " " + value + ": " + rule);
    }
    return std::string();
  };
}

// The name an IntRange validator carries: its bounds, read back by name_ranges (a validator cannot
// know the option it is attached to, so parse_cli installs the real check once the option is
// known).
inline std::string range_name(long long lo, long long hi) {
  return "zf_range " + std::to_string(lo) + " " + std::to_string(hi);
}

// Gives every integer range of `app` its option's name: zf's IntRange, and CLI11's PositiveNumber
// and NonNegativeNumber, whose own message prints their bound DBL_MAX as a 300-digit number (all
// our options checked with them are integers).
inline void name_ranges(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    for (int i = 0;; ++i) {
      CLI::Validator* v = nullptr;
      try {
        v = opt->get_validator(i);
      } catch (const CLI::OptionNotFound&) {
        break;
      }
      long long lo = 0, hi = LLONG_MAX;
      const std::string& name = v->get_name();
      // CLI11's two are recognized by their description: its Range passes the word as that.
      const std::string desc = v->get_description();
      if (name.empty() && desc == "POSITIVE") {
        lo = 1;
      } else if (name.empty() && desc == "NONNEGATIVE") {
        lo = 0;
      } else if (std::sscanf(name.c_str(), "zf_range %lld %lld", &lo, &hi) != 2) {
        continue;
      }
      v->operation(range_check(opt->get_name(), lo, hi));
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) name_ranges(*sub);
}

}  // namespace cli_detail

// An integer option in [lo, hi] (hi = LLONG_MAX: no upper bound), e.g. ->check(zf::IntRange(1,
// 100)).
inline CLI::Validator IntRange(long long lo, long long hi = LLONG_MAX) {
  const std::string desc = hi == LLONG_MAX
                               ? "INT >= " + std::to_string(lo)
                               : "INT in " + std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(cli_detail::range_check("value", lo, hi), desc,
                        cli_detail::range_name(lo, hi));
}

// Returns -1 when the program should go on, else the exit code (0 after --help).
inline int parse_cli(CLI::App& app, int argc, char** argv) {
  cli_detail::name_ranges(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  } catch (const CliError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

// A command-line error found after parsing (options CLI11 cannot relate): its one line, exit
// code 2.
inline int cli_fail(const CLI::App& app, const std::string& message) {
  std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), message.c_str());
  return 2;
}

// One line on stderr for an error, starting a fresh line if a progress line is open on a terminal.
inline void report_error(const char* prog, const std::exception& e) {
  std::fprintf(stderr, "%s%s: %s\n", isatty(2) ? "\n" : "", prog, e.what());
}

}  // namespace zf
