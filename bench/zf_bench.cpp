// zf_bench: how fast the ops train ZFNet. Times every ZFNet layer's forward and backward in
// isolation (random inputs of the layer's true shape), one whole training step (forward, loss,
// backward, SGD, filter renormalization), and a 2048^3 matrix product through fc_forward as the
// BLAS ceiling. Every buffer is allocated and touched before the clock starts and reused by every
// repeat: first-touch page faults on these machines would otherwise dominate (ENVIRONMENT.md).
//
//   ./build/bench/zf_bench [--device cpu|cuda] [--batch 16] [--reps 5] [--layers conv1,step]
//
// The table goes to stdout; with --json it goes to stderr and stdout gets one JSON object per row.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifdef ZF_BENCH_CLI11
#include <CLI/CLI.hpp>
#endif

#include "bench/cudnn_ref.h"
#include "core/backend.h"
#include "core/cpu/blas.h"
#include "core/ops.h"
#include "core/rng.h"

namespace zf {
namespace {

// ---- options ------------------------------------------------------------------------------------

struct Options {
  std::string device = "cpu";
  int batch = 16;
  int reps = 5;
  int warmup = 2;
  std::string layers;  // empty = all
  bool json = false;
  bool no_step = false;
  int threads = 0;  // 0 = OpenMP's default
};

// One table of options, read by CLI11 where it is installed and by a minimal parser otherwise (the
// GPU machine has none of Debian's -dev packages, CLI11 included).
struct OptSpec {
  const char* name;
  const char* help;
  std::string* text = nullptr;
  int* number = nullptr;
  bool* flag = nullptr;
};

std::vector<OptSpec> option_table(Options& o) {
  return {
      {"--device", "cpu or cuda", &o.device},
      {"--batch", "images per batch", nullptr, &o.batch},
      {"--reps", "timed repeats (min and median are reported)", nullptr, &o.reps},
      {"--warmup", "untimed runs before the timed ones", nullptr, &o.warmup},
      {"--layers",
       "comma list of rows to run (conv1..conv5, pool1, pool2, pool5, norm1, norm2, "
       "fc6..fc8, sgemm, step); default all",
       &o.layers},
      {"--json", "one JSON object per row on stdout (the table goes to stderr)", nullptr, nullptr,
       &o.json},
      {"--no-step", "skip the whole training step", nullptr, nullptr, &o.no_step},
      {"--threads", "OpenMP (and OpenBLAS) threads; default OpenMP's", nullptr, &o.threads},
  };
}

constexpr const char* kAbout =
    "zf_bench: per-layer forward/backward and whole-step timings of ZFNet on one device";

// Returns -1 to go on, else the exit code.
int parse_options(Options& o, int argc, char** argv) {
  std::vector<OptSpec> table = option_table(o);
#ifdef ZF_BENCH_CLI11
  CLI::App app(kAbout, "zf_bench");
  for (const OptSpec& s : table) {
    if (s.flag) app.add_flag(s.name, *s.flag, s.help);
    if (s.text) app.add_option(s.name, *s.text, s.help)->capture_default_str();
    if (s.number) app.add_option(s.name, *s.number, s.help)->capture_default_str();
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "zf_bench: %s (see --help)\n", e.what());
    return 2;
  }
#else
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s\nOptions:\n", kAbout);
      for (const OptSpec& s : table) std::printf("  %-10s %s\n", s.name, s.help);
      return 0;
    }
    auto it =
        std::find_if(table.begin(), table.end(), [&](const OptSpec& s) { return arg == s.name; });
    if (it == table.end()) {
      std::fprintf(stderr, "zf_bench: unknown option '%s' (see --help)\n", arg.c_str());
      return 2;
    }
    if (it->flag) {
      *it->flag = true;
      continue;
    }
    if (i + 1 == argc) {
      std::fprintf(stderr, "zf_bench: %s needs a value (see --help)\n", arg.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (it->text) *it->text = value;
    if (it->number) {
      size_t used = 0;
      try {
        *it->number = std::stoi(value, &used);
      } catch (const std::exception&) {
      }
      if (used != value.size()) {
        std::fprintf(stderr, "zf_bench: %s: '%s' is not an integer\n", arg.c_str(), value.c_str());
        return 2;
      }
    }
  }
#endif
  ZF_CHECK(o.batch >= 1, "--batch %d: must be >= 1", o.batch);
  ZF_CHECK(o.reps >= 1, "--reps %d: must be >= 1", o.reps);
  ZF_CHECK(o.warmup >= 0, "--warmup %d: must be >= 0", o.warmup);
  ZF_CHECK(o.threads >= 0, "--threads %d: must be >= 1 (0: OpenMP's default)", o.threads);
  return -1;
}

// ---- ZFNet as data (DESIGN section 3) -----------------------------------------------------------

enum class Kind { Conv, Relu, Pool, Lrn, Fc, Dropout };

struct Stage {
  const char* name;
  Kind kind;
  int out = 0;        // conv filters / fc outputs
  ConvParams conv{};  // conv only
};

const std::vector<Stage> kZfnet = {
    {"conv1", Kind::Conv, 96, {7, 2, 1}},
    {"relu1", Kind::Relu},
    {"pool1", Kind::Pool},
    {"norm1", Kind::Lrn},
    {"conv2", Kind::Conv, 256, {5, 2, 0}},
    {"relu2", Kind::Relu},
    {"pool2", Kind::Pool},
    {"norm2", Kind::Lrn},
    {"conv3", Kind::Conv, 384, {3, 1, 1}},
    {"relu3", Kind::Relu},
    {"conv4", Kind::Conv, 384, {3, 1, 1}},
    {"relu4", Kind::Relu},
    {"conv5", Kind::Conv, 256, {3, 1, 1}},
    {"relu5", Kind::Relu},
    {"pool5", Kind::Pool},
    {"fc6", Kind::Fc, 4096},
    {"relu6", Kind::Relu},
    {"drop6", Kind::Dropout},
    {"fc7", Kind::Fc, 4096},
    {"relu7", Kind::Relu},
    {"drop7", Kind::Dropout},
    {"fc8", Kind::Fc, 1000},
};
constexpr int kImage = 224, kClasses = 1000;
const PoolParams kPool{3, 2};
const LrnParams kLrn{};  // n=5, alpha=1e-4, beta=0.75, k=2
constexpr float kDropout = 0.5f, kLr = 0.01f, kMomentum = 0.9f, kDecay = 5e-4f, kRadius = 0.1f;
constexpr uint64_t kSeed = 20131112;

bool has_params(Kind k) {
  return k == Kind::Conv || k == Kind::Fc;
}
// ReLU and dropout run in the step only.
bool timed_alone(Kind k) {
  return k != Kind::Relu && k != Kind::Dropout;
}

// x * std with x ~ N(0, 1) from the seeded RNG; filled on the host, copied to the device.
void fill_normal(Tensor& t, float std, uint64_t stream) {
  Tensor host;
  if (!t.is_cpu()) host.ensure(t.shape(), Device::CPU);
  Tensor& dst = t.is_cpu() ? t : host;
  float* p = dst.f32();
  const int64_t n = dst.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = std * rng_normal(kSeed, stream, static_cast<uint64_t>(i));
  if (!t.is_cpu()) t.copy_from(host);
}

// All of ZFNet's tensors at one batch size, allocated and zeroed once. act[i] is the input of stage
// i (act[0] the images, act.back() the logits), grad[i] the gradient with respect to act[i].
struct Net {
  struct Slot {
    Tensor w, b, dw, db, vw, vb;  // conv / fc
    Tensor aux;                   // pool switches, LRN scale or dropout mask
  };
  std::vector<Slot> slot;
  std::vector<Tensor> act, grad;
  Tensor labels, prob, stats;  // stats: [mean loss, top-1 hits] of the last step, on the device
  uint64_t iteration = 0;

  Net(int batch, Device dev) : slot(kZfnet.size()) {
    Shape s{batch, 3, kImage, kImage};
    act.emplace_back(Tensor::zeros(s, dev));
    grad.emplace_back();  // the images need no gradient
    for (size_t i = 0; i < kZfnet.size(); ++i) {
      const Stage& st = kZfnet[i];
      Slot& l = slot[i];
      const int64_t fan_in = s.numel() / s[0];
      if (st.kind == Kind::Conv) {
        l.w = Tensor(Shape{st.out, s[1], st.conv.kernel, st.conv.kernel}, dev);
        s = conv_output_shape(s, st.out, st.conv);
      } else if (st.kind == Kind::Fc) {
        l.w = Tensor(Shape{st.out, fan_in}, dev);
        s = Shape{s[0], st.out};
      } else if (st.kind == Kind::Pool) {
        s = pool_output_shape(s, kPool);
        l.aux = Tensor::zeros(s, dev, DType::I32);
      } else if (st.kind == Kind::Lrn || st.kind == Kind::Dropout) {
        l.aux = Tensor::zeros(s, dev);
      }
      if (has_params(st.kind)) {
        fill_normal(l.w, 0.01f, 100 + i);
        for (Tensor* t : {&l.dw, &l.vw}) *t = Tensor::zeros(l.w.shape(), dev);
        for (Tensor* t : {&l.b, &l.db, &l.vb}) *t = Tensor::zeros(Shape{st.out}, dev);
      }
      act.emplace_back(Tensor::zeros(s, dev));
      grad.emplace_back(Tensor::zeros(s, dev));
    }
    prob = Tensor::zeros(act.back().shape(), dev);
    Tensor host_labels(Shape{batch}, Device::CPU, DType::I32);
    for (int n = 0; n < batch; ++n)
      host_labels.i32()[n] = static_cast<int32_t>(rng_u32(kSeed, 7, n) % kClasses);
    labels = host_labels.to(dev);
    fill_normal(act[0], 1.f, 1);
  }

  void forward(size_t i) {
    const Stage& st = kZfnet[i];
    Slot& l = slot[i];
    const Tensor& x = act[i];
    Tensor& y = act[i + 1];
    switch (st.kind) {
      case Kind::Conv:
        conv2d_forward(y, x, l.w, l.b, st.conv);
        break;
      case Kind::Relu:
        relu_forward(y, x);
        break;
      case Kind::Pool:
        maxpool_forward(y, l.aux, x, kPool);
        break;
      case Kind::Lrn:
        lrn_forward(y, l.aux, x, kLrn);
        break;
      case Kind::Fc:
        fc_forward(y, x, l.w, l.b);
        break;
      case Kind::Dropout:
        dropout_forward(y, l.aux, x, kDropout, kSeed, i + (iteration << 16));
        break;
    }
  }

  // Stage 0's input is the image, which needs no gradient: conv1's backward is its weight gradient.
  void backward(size_t i) {
    const Stage& st = kZfnet[i];
    Slot& l = slot[i];
    const Tensor &x = act[i], &y = act[i + 1], &dy = grad[i + 1];
    Tensor& dx = grad[i];
    const bool need_dx = i > 0;
    switch (st.kind) {
      case Kind::Conv:
        conv2d_backward_weight(l.dw, l.db, dy, x, st.conv);
        if (need_dx) conv2d_backward_data(dx, dy, l.w, st.conv);
        break;
      case Kind::Relu:
        relu_backward(dx, dy, x);
        break;
      case Kind::Pool:
        maxpool_backward(dx, dy, l.aux, kPool);
        break;
      case Kind::Lrn:
        lrn_backward(dx, dy, x, y, l.aux, kLrn);
        break;
      case Kind::Fc:
        fc_backward_weight(l.dw, l.db, dy, x);
        if (need_dx) fc_backward_data(dx, dy, l.w);
        break;
      case Kind::Dropout:
        dropout_backward(dx, dy, l.aux);
        break;
    }
  }

  // Queues one step; nothing waits for the device (the loss stays in `stats`).
  void train_step() {
    for (size_t i = 0; i < kZfnet.size(); ++i) forward(i);
    softmax_xent_forward(prob, stats, act.back(), labels);
    softmax_xent_backward(grad.back(), prob, labels);
    for (size_t i = kZfnet.size(); i-- > 0;) backward(i);
    for (size_t i = 0; i < kZfnet.size(); ++i) {
      if (!has_params(kZfnet[i].kind)) continue;
      Slot& l = slot[i];
      sgd_update(l.w, l.vw, l.dw, kLr, kMomentum, kDecay);
      sgd_update(l.b, l.vb, l.db, kLr, kMomentum, kDecay);
      if (kZfnet[i].kind == Kind::Conv) renorm_filters(l.w, kRadius);
    }
    ++iteration;
  }

  // Floating-point operations of stage i's forward (2 per multiply-add); 0 for pool, LRN, ReLU,
  // dropout.
  double forward_flops(size_t i) const {
    if (!has_params(kZfnet[i].kind)) return 0.0;
    return 2.0 * static_cast<double>(act[i + 1].numel()) * static_cast<double>(slot[i].w.numel()) /
           static_cast<double>(slot[i].w.dim(0));
  }
  // The backward computes the weight gradient and, except for stage 0, the data gradient: each
  // costs as much as the forward.
  double backward_flops(size_t i) const { return forward_flops(i) * (i > 0 ? 2.0 : 1.0); }
};

// ---- timing and reporting -----------------------------------------------------------------------

struct Timing {
  double min_ms, median_ms;
};

class Clock {
 public:
  Clock(const Options& o, Device dev) : warmup_(o.warmup), reps_(o.reps), dev_(dev) {}

  int reps() const { return reps_; }

  Timing time(const std::function<void()>& fn) {
    for (int i = 0; i < warmup_; ++i) fn();
    sync();
    std::vector<double> ms;
    for (int i = 0; i < reps_; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      sync();
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    return {ms[0], n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2])};
  }

 private:
  void sync() { backend::device_synchronize(dev_); }
  int warmup_, reps_;
  Device dev_;
};

struct Row {
  std::string layer, pass;
  int batch;
  Timing t;
  double flops;  // 0: not meaningful (pool, LRN)
  std::string note;
  double img_s = 0;       // step only
  std::string impl = "";  // "" = ours; "cudnn" = the reference rows of --device cuda
};

class Report {
 public:
  explicit Report(bool json) : json_(json), table_(json ? stderr : stdout) {}

  void header(const std::string& title) {
    std::fprintf(table_, "%s\n%-6s %-4s %6s %10s %10s %9s  %s\n", title.c_str(), "layer", "pass",
                 "batch", "ms_min", "ms_median", "GFLOP/s", "notes");
    std::fflush(table_);
  }

  void add(const Row& r) {
    const double gflops = r.flops > 0 ? r.flops / (r.t.median_ms * 1e6) : 0.0;
    const std::string g = r.flops > 0 ? strprintf("%.1f", gflops) : "-";
    std::fprintf(table_, "%-6s %-4s %6d %10.3f %10.3f %9s  %s\n", r.layer.c_str(), r.pass.c_str(),
                 r.batch, r.t.min_ms, r.t.median_ms, g.c_str(), r.note.c_str());
    std::fflush(table_);
    if (json_) {
      std::string line = strprintf(
          "{\"layer\":\"%s\",\"pass\":\"%s\",\"batch\":%d,\"ms_min\":%.4f,\"ms_median\":%.4f,"
          "\"gflops\":%s",
          r.layer.c_str(), r.pass.c_str(), r.batch, r.t.min_ms, r.t.median_ms,
          r.flops > 0 ? strprintf("%.2f", gflops).c_str() : "null");
      if (r.img_s > 0) line += strprintf(",\"img_s\":%.3f", r.img_s);
      if (!r.impl.empty()) line += ",\"impl\":\"" + r.impl + "\"";
      std::printf("%s}\n", line.c_str());
      std::fflush(stdout);
    }
    if (!r.impl.empty()) return;  // reference rows are not ours to sum
    if (r.pass == "fwd" && r.layer != "sgemm") layer_ms_[0] += r.t.median_ms;
    if (r.pass == "bwd") layer_ms_[1] += r.t.median_ms;
  }

  void footer(double peak_rss_mb) {
    if (layer_ms_[0] + layer_ms_[1] > 0)
      std::fprintf(
          table_,
          "sum of layer medians: fwd %.1f ms, bwd %.1f ms (ReLU, dropout, loss, SGD: step only)\n",
          layer_ms_[0], layer_ms_[1]);
    std::fprintf(table_, "peak resident memory (VmHWM): %.1f MB\n", peak_rss_mb);
    if (json_) std::printf("{\"peak_rss_mb\":%.1f}\n", peak_rss_mb);
  }

 private:
  bool json_;
  FILE* table_;
  double layer_ms_[2] = {0, 0};
};

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0.0;
}

// Which rows to run: --layers, checked against the names that exist.
class Selection {
 public:
  explicit Selection(const std::string& list) {
    for (const Stage& s : kZfnet)
      if (timed_alone(s.kind)) known_.insert(s.name);
    known_.insert({"sgemm", "step"});
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');) {
      if (name.empty()) continue;
      if (!known_.count(name)) {
        std::string all;
        for (const Stage& s : kZfnet)
          if (timed_alone(s.kind)) all += std::string(s.name) + ",";
        ZF_THROW("--layers: unknown row '%s' (known: %ssgemm,step)", name.c_str(), all.c_str());
      }
      chosen_.insert(name);
    }
  }
  bool wants(const std::string& name) const { return chosen_.empty() || chosen_.count(name) > 0; }
  bool wants_a_layer() const {
    return std::any_of(kZfnet.begin(), kZfnet.end(),
                       [&](const Stage& s) { return timed_alone(s.kind) && wants(s.name); });
  }

 private:
  std::set<std::string> known_, chosen_;
};

// The reference matrix product: y[2048, 2048] = x * w^T through fc_forward, i.e. one OpenBLAS sgemm
// (or the CUDA backend's) plus the bias broadcast.
void bench_sgemm(Clock& clock, Report& report, Device dev) {
  constexpr int n = 2048;
  Tensor x(Shape{n, n}, dev), w(Shape{n, n}, dev), y = Tensor::zeros(Shape{n, n}, dev);
  Tensor b = Tensor::zeros(Shape{n}, dev);
  fill_normal(x, 1.f, 3);
  fill_normal(w, 1.f, 4);
  const Timing t = clock.time([&] { fc_forward(y, x, w, b); });
  report.add({"sgemm", "fwd", n, t, 2.0 * n * n * static_cast<double>(n),
              "2048^3 via fc_forward (BLAS ceiling)"});
}

// cuDNN's fastest algorithm on the same shapes, the yardstick for our kernels (conv and LRN).
void add_cudnn_rows(Net& net, size_t i, Clock& clock, Report& report, int batch) {
  const Stage& st = kZfnet[i];
  const Shape& in = net.act[i].shape();
  const int n = static_cast<int>(in[0]), c = static_cast<int>(in[1]), h = static_cast<int>(in[2]),
            w = static_cast<int>(in[3]);
  const int reps = std::max(1, clock.reps());
  if (st.kind == Kind::Conv) {
    const bench::CudnnConvTimes t = bench::cudnn_conv_times(n, c, h, w, st.out, st.conv.kernel,
                                                            st.conv.stride, st.conv.pad, reps);
    const double bwd = (i == 0 ? 0.0 : t.bwd_data_ms) + t.bwd_filter_ms;
    report.add(
        {st.name, "fwd", batch, {t.fwd_ms, t.fwd_ms}, net.forward_flops(i), "cuDNN", 0, "cudnn"});
    report.add({st.name, "bwd", batch, {bwd, bwd}, net.backward_flops(i), "cuDNN", 0, "cudnn"});
  } else if (st.kind == Kind::Lrn) {
    for (bool backward : {false, true}) {
      const double ms =
          bench::cudnn_lrn_ms(n, c, h, w, kLrn.size, kLrn.alpha, kLrn.beta, kLrn.k, backward, reps);
      report.add({st.name, backward ? "bwd" : "fwd", batch, {ms, ms}, 0, "cuDNN", 0, "cudnn"});
    }
  }
}

void bench_layers(Net& net, Clock& clock, Report& report, const Selection& sel, int batch) {
  for (size_t i = 0; i < kZfnet.size(); ++i) {
    const Stage& st = kZfnet[i];
    if (!timed_alone(st.kind) || !sel.wants(st.name)) continue;
    fill_normal(net.act[i], 1.f, 1000 + i);
    fill_normal(net.grad[i + 1], 1.f, 2000 + i);
    const Timing f = clock.time([&] { net.forward(i); });
    report.add({st.name, "fwd", batch, f, net.forward_flops(i), ""});
    const Timing b = clock.time([&] { net.backward(i); });
    const char* note = i == 0                ? "weight grad only (the image needs no gradient)"
                       : has_params(st.kind) ? "data + weight grads"
                                             : "";
    report.add({st.name, "bwd", batch, b, net.backward_flops(i), note});
    if (net.act[i].device().is_cuda() && bench::cudnn_built())
      add_cudnn_rows(net, i, clock, report, batch);
  }
}

void bench_step(Net& net, Clock& clock, Report& report, int batch) {
  fill_normal(net.act[0], 1.f, 1);
  double flops = 0;
  for (size_t i = 0; i < kZfnet.size(); ++i) flops += net.forward_flops(i) + net.backward_flops(i);
  const Timing t = clock.time([&] { net.train_step(); });
  const float loss = net.stats.to(Device::CPU).f32()[0];
  Row r{"step", "step", batch, t, flops, ""};
  r.img_s = batch / (t.median_ms * 1e-3);
  r.note = strprintf("%.1f img/s; fwd+loss+bwd+sgd+renorm; loss %.4f", r.img_s,
                     static_cast<double>(loss));
  report.add(r);
}

int run(const Options& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Device dev = parse_device(o.device);
  if (dev == Device::CUDA)
    ZF_CHECK(backend::cuda_available(), "--device cuda: %s", backend::cuda_status().c_str());
  const Selection sel(o.layers);
  Report report(o.json);
  Clock clock(o, dev);
  report.header(strprintf(
      "zf_bench: ZFNet on %s, batch %d, %d threads, %d timed reps after %d warmup; "
      "GFLOP/s from the median\nBLAS: %s%s",
      device_name(dev), o.batch, omp_get_max_threads(), o.reps, o.warmup,
      cpu::blas_description().c_str(),
      dev == Device::CUDA ? (bench::cudnn_built() ? "; cuDNN reference rows follow ours"
                                                  : "; cuDNN not built: no reference rows")
                          : ""));
  if (sel.wants("sgemm")) bench_sgemm(clock, report, dev);
  const bool step = !o.no_step && sel.wants("step");
  if (step || sel.wants_a_layer()) {
    Net net(o.batch, dev);
    bench_layers(net, clock, report, sel, o.batch);
    if (step) bench_step(net, clock, report, o.batch);
  }
  report.footer(peak_rss_mb());
  return 0;
}

}  // namespace
}  // namespace zf

int main(int argc, char** argv) {
  try {
    zf::Options o;
    const int code = zf::parse_options(o, argc, argv);
    if (code >= 0) return code;
    return zf::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zf_bench: %s\n", e.what());
    return 1;
  }
}
