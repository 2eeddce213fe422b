// Terminal progress lines (see progress.h).
#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/check.h"

namespace zf {

Progress::Progress(std::string what, int64_t total, double log_seconds, bool quiet)
    : what_(std::move(what)),
      total_(total),
      log_seconds_(log_seconds),
      tty_(isatty(2) != 0),
      quiet_(quiet) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::duration(double s) {
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return strprintf("%ldh%02ldm", t / 3600, (t / 60) % 60);
  if (t >= 60) return strprintf("%ldm%02lds", t / 60, t % 60);
  return strprintf("%lds", t);
}

void Progress::update(int64_t done, const std::string& extra, bool force) {
  done_ = done;
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (!force && since < (tty_ ? 0.25 : log_seconds_)) return;
  last_ = now;
  const double el = seconds(), rate = el > 0 ? done / el : 0;
  const double eta = rate > 0 && total_ > done ? (total_ - done) / rate : 0;
  const double pct = total_ > 0 ? 100.0 * done / total_ : 100.0;
  std::fprintf(stderr, "%s%s %lld/%lld (%.0f%%) %.0f/s ETA %s %s%s", tty_ ? "\r" : "",
               what_.c_str(), static_cast<long long>(done), static_cast<long long>(total_), pct,
               rate, duration(eta).c_str(), extra.c_str(), tty_ ? "\033[K" : "\n");
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  update(done_, extra, true);
  if (tty_ && !quiet_) std::fputc('\n', stderr);
}

}  // namespace zf
