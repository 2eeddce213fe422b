// Shared command-line plumbing for the zf_* tools: CLI11 parsing whose errors are one line on
// stderr (exit code 2), and the one-line report of a failure.
#pragma once

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

namespace zf {

// Returns -1 when the program should go on, else the exit code (0 after --help).
inline int parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

// One line on stderr for an error, starting a fresh line if a progress line is open on a terminal.
inline void report_error(const char* prog, const std::exception& e) {
  std::fprintf(stderr, "%s%s: %s\n", isatty(2) ? "\n" : "", prog, e.what());
}

}  // namespace zf
