// zf_bench: how fast the framework trains and projects a net, by default ZFNet as
// configs/zfnet.yaml describes it (--config times any net), built through zf::Net. Times every
// layer's forward, backward and deconvnet step in isolation (the layer's own code on random inputs
// of its true shape: unpooling through the switches is the pools' "proj" row), one whole training
// step (forward with the loss, backward, the optimizer's step: core/nn/optimizer.h), one whole
// deconvnet projection from the deepest filtering layer to the input, and a 2048^3 matrix product
// through fc_forward as the BLAS ceiling, a 128 MB copy as the memory-bandwidth ceiling (the
// memory-bound rows print their GB/s against it) and the optimizer's step alone. Every buffer is allocated and touched before the clock
// starts and reused by every repeat: first-touch page faults on these machines would otherwise
// dominate (ENVIRONMENT.md). The training rows (fwd, bwd, step) run the CPU convolutions as
// zf_train does, free to multiply several images at once; the projection rows as zf_project does,
// batch-invariant (Context::batch_invariant).
//
//   ./build/bench/zf_bench [--config configs/zfnet.yaml] [--device cpu|cuda] [--batch 16]
//                          [--reps 5] [--layers conv1,step]
//
// The table goes to stdout; with --json it goes to stderr and stdout gets one JSON object per row.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
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
#include "core/nn/net.h"
#include "core/nn/optimizer.h"
#include "core/ops.h"
#include "core/rng.h"
#include "train/config.h"

namespace zf {
namespace {

// ---- options ------------------------------------------------------------------------------------

struct Options {
  std::string config = ZF_BENCH_DEFAULT_CONFIG;
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
      {"--config", "the net to time (a zf_train config; default configs/zfnet.yaml)", &o.config},
      {"--device", "cpu or cuda", &o.device},
      {"--batch", "images per batch", nullptr, &o.batch},
      {"--reps", "timed repeats (min and median are reported)", nullptr, &o.reps},
      {"--warmup", "untimed runs before the timed ones", nullptr, &o.warmup},
      {"--layers",
       "comma list of rows to run: layer names of the config (conv1, pool1, norm1, fc6, ...), "
       "sgemm, copy (CPU memory bandwidth), sgd (the optimizer's step alone), step, project; "
       "default all",
       &o.layers},
      {"--json", "one JSON object per row on stdout (the table goes to stderr)", nullptr, nullptr,
       &o.json},
      {"--no-step", "skip the optimizer's step, the whole training step and the whole projection", nullptr, nullptr,
       &o.no_step},
      {"--threads", "OpenMP (and OpenBLAS) threads; default OpenMP's", nullptr, &o.threads},
  };
}

constexpr const char* kAbout =
    "zf_bench: per-layer forward/backward/projection, whole-step and whole-projection timings of "
    "a net (default ZFNet) on one device";

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
  // Checked here for both parsers, before any net is built: a bad value is a bad command line
  // (exit code 2, as for every zf_* tool), never a run that starts.
  std::string bad;
  if (o.batch < 1) bad = strprintf("--batch %d: must be >= 1", o.batch);
  if (o.reps < 1) bad = strprintf("--reps %d: must be >= 1", o.reps);
  if (o.warmup < 0) bad = strprintf("--warmup %d: must be >= 0", o.warmup);
  if (o.threads < 0) bad = strprintf("--threads %d: must be >= 1 (0: OpenMP's default)", o.threads);
  try {
    parse_device(o.device);
  } catch (const std::exception&) {
    bad = "--device " + o.device + ": expected cpu, cuda or cuda:N";
  }
  if (bad.empty()) return -1;
  std::fprintf(stderr, "zf_bench: %s (see --help)\n", bad.c_str());
  return 2;
}

// x * std with x ~ N(0, 1) from the seeded RNG; filled on the host, copied to the device.
constexpr uint64_t kSeed = 20131112;
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
  double bytes = 0;       // the least traffic of a memory-bound row (see min_bytes); 0: none
};

class Report {
 public:
  explicit Report(bool json) : json_(json), table_(json ? stderr : stdout) {}

  void header(const std::string& title) {
    std::fprintf(table_, "%s\n%-6s %-4s %6s %10s %10s %9s  %s\n", title.c_str(), "layer", "pass",
                 "batch", "ms_min", "ms_median", "GFLOP/s", "notes");
    std::fflush(table_);
  }

  // The copy row's bandwidth, against which the memory-bound rows are put.
  void set_copy_gbs(double gbs) { copy_gbs_ = gbs; }

  void add(const Row& r) {
    const double gflops = r.flops > 0 ? r.flops / (r.t.median_ms * 1e6) : 0.0;
    const std::string g = r.flops > 0 ? strprintf("%.1f", gflops) : "-";
    const double gbs = r.bytes > 0 ? r.bytes / (r.t.median_ms * 1e6) : 0.0;
    std::string note = r.note;
    if (r.bytes > 0) {
      note += strprintf("%s%.1f GB/s", note.empty() ? "" : "; ", gbs);
      if (copy_gbs_ > 0) note += strprintf(" (%.0f%% of copy)", 100.0 * gbs / copy_gbs_);
    }
    std::fprintf(table_, "%-6s %-4s %6d %10.3f %10.3f %9s  %s\n", r.layer.c_str(), r.pass.c_str(),
                 r.batch, r.t.min_ms, r.t.median_ms, g.c_str(), note.c_str());
    std::fflush(table_);
    if (json_) {
      std::string line = strprintf(
          "{\"layer\":\"%s\",\"pass\":\"%s\",\"batch\":%d,\"ms_min\":%.4f,\"ms_median\":%.4f,"
          "\"gflops\":%s",
          r.layer.c_str(), r.pass.c_str(), r.batch, r.t.min_ms, r.t.median_ms,
          r.flops > 0 ? strprintf("%.2f", gflops).c_str() : "null");
      if (r.img_s > 0) line += strprintf(",\"img_s\":%.3f", r.img_s);
      if (r.bytes > 0) line += strprintf(",\"gbs\":%.2f", gbs);
      if (!r.impl.empty()) line += ",\"impl\":\"" + r.impl + "\"";
      std::printf("%s}\n", line.c_str());
      std::fflush(stdout);
    }
    if (!r.impl.empty()) return;  // reference rows are not ours to sum
    if (r.pass == "fwd" && r.layer != "sgemm" && r.layer != "copy") layer_ms_[0] += r.t.median_ms;
    if (r.pass == "bwd") layer_ms_[1] += r.t.median_ms;
  }

  void footer(double peak_rss_mb) {
    if (layer_ms_[0] + layer_ms_[1] > 0)
      std::fprintf(table_,
                   "sum of layer medians: fwd %.1f ms, bwd %.1f ms (loss: step only)\n",
                   layer_ms_[0], layer_ms_[1]);
    std::fprintf(table_, "peak resident memory (VmHWM): %.1f MB\n", peak_rss_mb);
    if (json_) std::printf("{\"peak_rss_mb\":%.1f}\n", peak_rss_mb);
  }

 private:
  bool json_;
  FILE* table_;
  double layer_ms_[2] = {0, 0};
  double copy_gbs_ = 0;
};

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0.0;
}

// ---- the net under test -------------------------------------------------------------------------

struct Bench {
  Config cfg;
  Net net;
  Device dev;
  int batch;

  Shape input_of(int i) const {
    const Shape& c = net.input_chw();
    return i ? net.output_shape(i - 1) : Shape{batch, c[0], c[1], c[2]};
  }
  // Multiply-adds x 2 of layer i's forward: its output times the fan-in of one of its filters
  // (conv and fc); 0 for layers without parameters.
  double forward_flops(int i) {
    std::vector<Param*> ps = net.layer(i).params();
    if (ps.empty()) return 0.0;
    const Tensor& w = ps[0]->value;
    return 2.0 * static_cast<double>(net.output_shape(i).numel()) *
           static_cast<double>(w.numel() / w.dim(0));
  }
  // The backward computes the weight gradient and, except for layer 0, the data gradient: each
  // costs as much as the forward.
  double backward_flops(int i) { return forward_flops(i) * (i > 0 ? 2.0 : 1.0); }
  // The deepest filtering layer's rectified output: where the whole-projection row starts.
  int projection_top() {
    int top = -1;
    for (int i = 0; i < net.size(); ++i) {
      Geometry g;
      if (net.layer(i).geometry(&g) && !net.layer(i).params().empty()) top = i;
    }
    ZF_CHECK(top >= 0, "%s: no filtering layer to project from", cfg.source.c_str());
    return top + 1 < net.size() && net.layer(top + 1).rectifies() ? top + 1 : top;
  }
  Tensor images(uint64_t stream) {
    Tensor x(input_of(0), dev);
    fill_normal(x, 1.f, stream);
    return x;
  }
  Tensor labels() {
    const int64_t classes = net.output_shape(net.size() - 1)[1];
    Tensor host(Shape{batch}, Device::CPU, DType::I32);
    for (int n = 0; n < batch; ++n)
      host.i32()[n] = static_cast<int32_t>(rng_u32(kSeed, 7, n) % classes);
    return host.to(dev);
  }
};

Bench make_bench(const Options& o, Device dev) {
  Config cfg = load_config(o.config);
  Net net = build_net(cfg.net);
  net.setup(o.batch);
  net.init_params(kSeed);
  net.to(dev);
  net.reserve_memory();
  return Bench{std::move(cfg), std::move(net), dev, o.batch};
}

// Which rows to run: --layers, checked against the names that exist.
class Selection {
 public:
  Selection(const std::string& list, Bench& b) {
    for (int i = 0; i < b.net.size(); ++i)
      if (!b.net.layer(i).is_loss()) known_.push_back(b.net.layer(i).name());
    for (const char* r : {"sgemm", "copy", "sgd", "step", "project"}) known_.push_back(r);
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');) {
      if (name.empty()) continue;
      if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
        std::string all;
        for (const std::string& k : known_) all += (all.empty() ? "" : ",") + k;
        ZF_THROW("--layers: unknown row '%s' (known: %s)", name.c_str(), all.c_str());
      }
      chosen_.insert(name);
    }
  }
  bool wants(const std::string& name) const { return chosen_.empty() || chosen_.count(name) > 0; }

 private:
  std::vector<std::string> known_;
  std::set<std::string> chosen_;
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

// The memory-bound yardstick: a parallel copy of 128 MB (both threads, pages touched before the
// clock starts), reported as bytes read plus bytes written per second; pool, LRN, ReLU, dropout,
// SGD and small-batch FC rows are judged against it.
void bench_copy(Clock& clock, Report& report) {
  constexpr int64_t n = int64_t{32} << 20;
  Tensor src(Shape{n}), dst = Tensor::zeros(Shape{n});
  fill_normal(src, 1.f, 5);
  const float* S = src.f32();
  float* D = dst.f32();
  const Timing t = clock.time([&] {
#pragma omp parallel
    {
      const int T = omp_get_num_threads(), i = omp_get_thread_num();
      const int64_t lo = n * i / T, hi = n * (i + 1) / T;
      std::memcpy(D + lo, S + lo, sizeof(float) * (hi - lo));
    }
  });
  const double gbs = 2.0 * sizeof(float) * n / (t.median_ms * 1e6);
  report.set_copy_gbs(gbs);
  report.add({"copy", "fwd", 1, t, 0,
              strprintf("%.1f GB/s (read + write) of 128 MB: the copy bandwidth", gbs)});
}

// cuDNN's fastest algorithm on the same shapes, the yardstick for our kernels: the convolutions
// (layers with geometry and filters) and the LRN family (its parameters read from the layer's
// config, the defaults being LrnParams').
void add_cudnn_rows(Bench& b, int i, Clock& clock, Report& report) {
  Layer& L = b.net.layer(i);
  const Shape in = b.input_of(i), out = b.net.output_shape(i);
  const int n = static_cast<int>(in[0]), c = static_cast<int>(in[1]), h = static_cast<int>(in[2]),
            w = static_cast<int>(in[3]);
  const int reps = std::max(1, clock.reps());
  Geometry g;
  if (L.geometry(&g) && !L.params().empty()) {
    // FP32 rows ("cudnn", the yardstick of our default kernels), then TF32 rows ("cudnn_tf32").
    // The backward row holds what ours does: backward data (not for the first layer), filter and
    // bias gradients.
    for (const bool tf32 : {false, true}) {
      const bench::CudnnConvTimes t = bench::cudnn_conv_times(
          n, c, h, w, static_cast<int>(out[1]), g.kernel, g.stride, g.pad, reps, tf32);
      const double bwd = (i == 0 ? 0.0 : t.bwd_data_ms) + t.bwd_filter_ms + t.bwd_bias_ms;
      const char* impl = tf32 ? "cudnn_tf32" : "cudnn";
      const char* what = tf32 ? "cuDNN TF32" : "cuDNN";
      report.add(
          {L.name(), "fwd", b.batch, {t.fwd_ms, t.fwd_ms}, b.forward_flops(i), what, 0, impl});
      report.add({L.name(), "bwd", b.batch, {bwd, bwd}, b.backward_flops(i), what, 0, impl});
    }
  } else if (std::string(L.type()) == "lrn") {
    const LayerSpec& s = b.cfg.net.layers[static_cast<size_t>(i)];
    LrnParams p;
    p.size = s.get_int("size", p.size, 1);
    p.alpha = s.get_float("alpha", p.alpha, 0.f, 1e3f);
    p.beta = s.get_float("beta", p.beta, 0.f, 10.f);
    p.k = s.get_float("k", p.k, 1e-6f, 1e6f);
    for (bool backward : {false, true}) {
      const double ms =
          bench::cudnn_lrn_ms(n, c, h, w, p.size, p.alpha, p.beta, p.k, backward, reps);
      report.add({L.name(), backward ? "bwd" : "fwd", b.batch, {ms, ms}, 0, "cuDNN", 0, "cudnn"});
    }
  }
}

// The least traffic, in bytes, a memory-bound pass must move between memory and the cores: every
// tensor it reads or writes, once (0 for the conv rows, which are compute-bound). relu and dropout:
// x and y forward, dy and dx backward (and y, ReLU's mask); maxpool: x, y and the switches forward,
// dy, the switches and dx backward and when unpooling; lrn: x, y and the saved scale forward, those
// and dy, dx backward; fc at batches up to 32: its weights once forward and in the deconvnet step,
// twice backward (read for dx, dW written), beside x, y, dy and dx.
double min_bytes(Layer& L, const std::string& pass, const Shape& in, const Shape& out) {
  const std::string type = L.type();
  const double X = 4.0 * in.numel(), Y = 4.0 * out.numel();
  double S = 0, P = 0;
  for (const BufferSpec& b : L.saved_buffers(in, out)) S += static_cast<double>(b.shape.numel() * dtype_size(b.dtype));
  for (Param* p : L.params()) P += static_cast<double>(p->value.bytes());
  const bool fwd = pass == "fwd", bwd = pass == "bwd";
  if (type == "relu") return fwd ? X + Y : bwd ? 3 * Y : 2 * Y;
  if (type == "dropout") return X + Y + S;
  if (type == "maxpool") return X + Y + S;
  if (type == "lrn") return fwd ? X + Y + S : bwd ? 2 * X + 2 * Y + S : 0;
  if (type == "fc" && in[0] <= 32)  // beyond, the products are compute-bound
    return fwd ? P + X + Y : bwd ? 2 * P + 2 * X + Y : P + X + Y;
  return 0;
}

// Layer i alone through its own forward, backward and deconvnet step, on random inputs of its true
// shapes (training phase: dropout masks are drawn).
void bench_layer(Bench& b, int i, Clock& clock, Report& report) {
  Layer& L = b.net.layer(i);
  const Shape in = b.input_of(i), out = b.net.output_shape(i);
  Tensor x(in, b.dev), dy(out, b.dev), y = Tensor::zeros(out, b.dev), dx = Tensor::zeros(in, b.dev),
                                       proj = Tensor::zeros(in, b.dev);
  fill_normal(x, 1.f, 1000 + i);
  fill_normal(dy, 1.f, 2000 + i);
  std::vector<Tensor> saved;
  for (const BufferSpec& s : L.saved_buffers(in, out))
    saved.push_back(Tensor::zeros(s.shape, b.dev, s.dtype));
  RunState rs;
  rs.seed = kSeed;
  std::optional<ScopedBatchInvariance> training(std::in_place, false);
  const Timing f = clock.time([&] { L.forward(y, x, saved.data(), rs); });
  report.add({L.name(), "fwd", b.batch, f, b.forward_flops(i), L.type(), 0, "",
              min_bytes(L, "fwd", in, out)});
  const Timing bw = clock.time([&] { L.backward(i ? &dx : nullptr, dy, x, y, saved.data(), rs); });
  const char* note = i == 0                ? "weight grad only (the image needs no gradient)"
                     : !L.params().empty() ? "data + weight grads"
                                           : "";
  report.add({L.name(), "bwd", b.batch, bw, b.backward_flops(i), note, 0, "",
              min_bytes(L, "bwd", in, out)});
  training.reset();
  const ScopedBatchInvariance projection(true);
  const ProjectOptions deconv;
  const Timing p = clock.time([&] { L.project(proj, dy, x, y, saved.data(), deconv); });
  Geometry g;
  const bool pool = L.geometry(&g) && L.params().empty();
  report.add({L.name(), "proj", b.batch, p, L.params().empty() ? 0.0 : b.forward_flops(i),
              pool ? "unpool through the switches" : "deconvnet step (rule deconv)", 0, "",
              min_bytes(L, "proj", in, out)});
  if (b.dev.is_cuda() && bench::cudnn_built()) add_cudnn_rows(b, i, clock, report);
}

// The optimizer's step alone (SGD with momentum and weight decay, then the filter renormalization)
// on the gradients of one backward pass: it reads each weight, momentum and gradient and writes each
// weight and momentum (20 bytes a parameter), and reads the conv filters again for their RMS.
void bench_sgd(Bench& b, Clock& clock, Report& report) {
  const Tensor x = b.images(1), labels = b.labels();
  const TrainConfig& tc = b.cfg.train;
  const SgdParams sp{tc.lr, tc.momentum, tc.weight_decay, tc.renorm_radius};
  RunState rs;
  rs.seed = kSeed, rs.labels = &labels;
  b.net.backward(b.net.forward(x, rs));
  double bytes = 0, params = 0;
  for (auto& np : b.net.params()) {
    const double n = static_cast<double>(np.param->value.numel());
    params += n;
    bytes += 20 * n + (np.param->renorm && sp.renorm_radius > 0 ? 4 * n : 0);
  }
  const Timing t = clock.time([&] { sgd_step(b.net, sp); });
  report.add({"sgd", "sgd", b.batch, t, 0,
              strprintf("SGD + momentum + decay + renorm over %.1fM parameters", params * 1e-6), 0,
              "", bytes});
}

void bench_step(Bench& b, Clock& clock, Report& report) {
  const Tensor x = b.images(1), labels = b.labels();
  const TrainConfig& tc = b.cfg.train;
  const SgdParams sp{tc.lr, tc.momentum, tc.weight_decay, tc.renorm_radius};
  double flops = 0;
  for (int i = 0; i < b.net.size(); ++i) flops += b.forward_flops(i) + b.backward_flops(i);
  RunState rs;
  rs.seed = kSeed, rs.labels = &labels;
  const ScopedBatchInvariance training(false);
  const Timing t = clock.time([&] {
    const Pass pass = b.net.forward(x, rs);
    b.net.backward(pass);
    sgd_step(b.net, sp);
    ++rs.step;
  });
  const Tensor stats = b.net.forward(x, rs).loss_stats().to(Device::CPU);
  Row r{"step", "step", b.batch, t, flops, ""};
  r.img_s = b.batch / (t.median_ms * 1e-3);
  r.note = strprintf("%.1f img/s; fwd+loss+bwd+sgd+renorm; loss %.4f", r.img_s,
                     static_cast<double>(stats.f32()[0]));
  report.add(r);
}

// The whole deconvnet: a dense signal at the deepest filtering layer's rectified output carried
// down to the input (the forward pass it needs is run once, untimed).
void bench_projection(Bench& b, Clock& clock, Report& report) {
  const int top = b.projection_top();
  const ScopedBatchInvariance projection(true);
  RunState eval;
  eval.phase = Phase::Eval;
  const Tensor x = b.images(5);
  const Pass pass = b.net.forward_to(x, top, eval);
  const Tensor r = pass.output(top).clone();
  double flops = 0;
  for (int i = 1; i <= top; ++i) flops += b.forward_flops(i);  // transposed filtering, not conv1's
  const ProjectOptions deconv;
  const Timing t = clock.time([&] { b.net.project(pass, r, top, deconv); });
  report.add({"project", "proj", b.batch, t, flops,
              strprintf("deconvnet %s -> input, rule deconv", b.net.layer(top).name().c_str())});
}

int run(const Options& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Device dev = parse_device(o.device);
  if (dev.is_cuda())
    ZF_CHECK(backend::cuda_available(), "--device cuda: %s", backend::cuda_status().c_str());
  Bench b = make_bench(o, dev);
  const Selection sel(o.layers, b);
  Report report(o.json);
  Clock clock(o, dev);
  report.header(
      strprintf("zf_bench: %s (%s) on %s, batch %d, %d threads, %d timed reps after %d warmup; "
                "GFLOP/s from the median\nBLAS: %s%s%s",
                b.cfg.name.c_str(), o.config.c_str(), device_name(dev), o.batch,
                omp_get_max_threads(), o.reps, o.warmup, cpu::blas_description().c_str(),
                dev.is_cuda() ? strprintf("; our convolutions in %s (ZF_CONV_MATH)",
                                          conv_math_name(context(dev).conv_math))
                                    .c_str()
                              : "",
                dev.is_cuda() ? (bench::cudnn_built() ? "; cuDNN reference rows follow ours"
                                                      : "; cuDNN not built: no reference rows")
                              : ""));
  if (sel.wants("sgemm")) bench_sgemm(clock, report, dev);
  if (sel.wants("copy") && !dev.is_cuda()) bench_copy(clock, report);
  for (int i = 0; i < b.net.size(); ++i)
    if (!b.net.layer(i).is_loss() && sel.wants(b.net.layer(i).name()))
      bench_layer(b, i, clock, report);
  if (!o.no_step && sel.wants("sgd")) bench_sgd(b, clock, report);
  if (!o.no_step && sel.wants("step")) bench_step(b, clock, report);
  if (!o.no_step && sel.wants("project")) bench_projection(b, clock, report);
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
