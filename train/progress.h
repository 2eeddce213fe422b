// Progress on a terminal: one line rewritten in place (items/s, ETA) when stderr is a TTY,
// otherwise a plain line every `log_seconds`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace zf {

class Progress {
 public:
  // `quiet`: prints nothing (the data-parallel ranks other than 0).
  Progress(std::string what, int64_t total, double log_seconds = 30.0, bool quiet = false);
  // `done` items of `total`; `extra` is appended (e.g. "loss 0.41").
  void update(int64_t done, const std::string& extra = "", bool force = false);
  void finish(const std::string& extra = "");
  double seconds() const;
  static std::string duration(double s);  // "1h02m", "3m05s", "12s"

 private:
  std::string what_;
  int64_t total_;
  double log_seconds_;
  bool tty_, quiet_;
  std::chrono::steady_clock::time_point start_, last_;
  int64_t done_ = 0;
};

}  // namespace zf
