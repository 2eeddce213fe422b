// Stop signals, the non-finite check and durable text writes (see safety.h).
#include "train/safety.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include "core/io/h5io.h"

namespace zf {

namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void note_stop_signal(int sig) {
  g_stop_signal = sig;
}
struct sigaction g_old_int, g_old_term;
}  // namespace

StopSignals::StopSignals() {
  g_stop_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = note_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int StopSignals::pending() const {
  return g_stop_signal;
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

std::string find_nonfinite(Net& net, bool with_grads, Tensor& count) {
  auto bad_count = [&](auto&& add) {
    count.ensure(Shape{1}, net.device());
    count.zero();
    add();
    return count.to(Device::CPU).f32()[0] > 0.f;
  };
  std::vector<Net::NamedParam> ps = net.params();
  const bool any = bad_count([&] {
    for (auto& np : ps) {
      count_nonfinite(count, np.param->value);
      if (with_grads && !np.param->grad.empty()) count_nonfinite(count, np.param->grad);
    }
  });
  if (!any) return "";
  for (auto& np : ps) {
    const std::string name = np.layer + "/" + np.param->name;
    if (bad_count([&] { count_nonfinite(count, np.param->value); })) return name;
    if (with_grads && !np.param->grad.empty() &&
        bad_count([&] { count_nonfinite(count, np.param->grad); }))
      return name + " gradient";
  }
  return "(a parameter)";
}

void write_text_durably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ZF_CHECK(fd >= 0, "%s: cannot write", tmp.c_str());
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      ZF_THROW("%s: write failed", tmp.c_str());
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  h5::rename_durably(tmp, path);
}

}  // namespace zf
