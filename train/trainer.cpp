// The training loop (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/backend.h"
#include "core/nn/optimizer.h"
#include "core/ops.h"
#include "train/schedule.h"
#include "train/feeder.h"
#include "train/progress.h"
#include "train/safety.h"

namespace fs = std::filesystem;

namespace zf {

namespace {

// Correct top-k predictions among `count` rows of probabilities [count, K] (host memory).
int64_t count_topk(const float* prob, const int32_t* labels, int64_t count, int64_t K, int k) {
  int64_t hits = 0;
  for (int64_t n = 0; n < count; ++n) {
    const float* p = prob + n * K;
    const float target = p[labels[n]];
    int64_t above = 0;  // classes ranked before the label (ties resolved in the label's favour)
    for (int64_t j = 0; j < K; ++j) above += p[j] > target;
    hits += above < k;
  }
  return hits;
}

void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& ms) {
  std::string text = "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,seconds\n";
  for (const auto& m : ms)
    text += strprintf("%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f\n", m.epoch, m.lr, m.train_loss,
                      m.train_top1, m.val_loss, m.val_top1, m.val_top5, m.seconds);
  write_text_durably(path, text);
}

// The batch's input on the net's device (a copy into a reused buffer when that is the GPU).
const Tensor& on_device(const Tensor& host, Tensor& buf, Device d) {
  if (d == Device::CPU) return host;
  buf.ensure(host.shape(), d, host.dtype());
  buf.copy_from(host);
  return buf;
}

// Everything one run works with: the effective config, the net, the data, where it writes, and
// the train state that checkpoints carry.
struct Run {
  Run(Config c, Net n) : cfg(std::move(c)), net(std::move(n)) {}
  Config cfg;
  Net net;
  std::unique_ptr<Dataset> train_ds, val_ds;
  Normalizer norm;
  Device device = Device::CPU;
  std::string out, ckdir, last;
  TrainState st;
  // Checkpoints and checks between epochs' ends.
  std::chrono::steady_clock::time_point last_save = std::chrono::steady_clock::now();
  bool stepped = false;  // a step ran in this process (the gradients hold values)
  Tensor finite_count;   // the non-finite check's device counter
  Tensor stats;          // the step's loss statistics, read back
  // Data-parallel training: the ranks (train/comm.h). Rank 0 (the lead) alone writes and prints.
  // GPU ranks sum their gradients through NCCL (`nccl`), everything else through `comm`.
  Comm* comm = nullptr;
  std::unique_ptr<Comm> nccl;
  bool lead() const { return comm->rank() == 0; }
  bool parallel() const { return comm->size() > 1; }
};

std::vector<ConfigOverride> overrides_of(const TrainOptions& o) {
  std::vector<ConfigOverride> v;
  if (o.epochs > 0) v.push_back({"train.epochs", std::to_string(o.epochs)});
  if (o.seed >= 0) v.push_back({"train.seed", std::to_string(o.seed)});
  if (o.batch > 0) v.push_back({"train.batch", std::to_string(o.batch)});
  if (o.limit_train >= 0) v.push_back({"data.limit_train", std::to_string(o.limit_train)});
  if (o.limit_val >= 0) v.push_back({"data.limit_val", std::to_string(o.limit_val)});
  if (!o.train_data.empty()) v.push_back({"data.train", o.train_data});
  if (!o.val_data.empty()) v.push_back({"data.val", o.val_data});
  if (!o.conv_math.empty()) v.push_back({"train.conv_math", o.conv_math});
  return v;
}

// The data must fit the net's input and outputs, and hold a batch.
void check_data(const Run& r) {
  const Config& cfg = r.cfg;
  const Shape& in = r.net.input_chw();
  const int crop = cfg.data.transform.crop ? cfg.data.transform.crop
                                           : r.train_ds->height() + 2 * cfg.data.transform.pad;
  const int padded_h = r.train_ds->height() + 2 * cfg.data.transform.pad,
            padded_w = r.train_ds->width() + 2 * cfg.data.transform.pad;
  ZF_CHECK(crop <= padded_h && crop <= padded_w,
           "%s: data.crop %d is larger than the padded %dx%d images of %s", cfg.source.c_str(),
           crop, padded_h, padded_w, r.train_ds->source().c_str());
  ZF_CHECK(r.train_ds->channels() == in[0] && crop == in[1] && crop == in[2],
           "%s: data gives %dx%dx%d samples but input: is %lldx%lldx%lld", cfg.source.c_str(),
           r.train_ds->channels(), crop, crop, static_cast<long long>(in[0]),
           static_cast<long long>(in[1]), static_cast<long long>(in[2]));
  ZF_CHECK(r.train_ds->size() >= cfg.train.batch,
           "%s: %lld training samples, fewer than one batch of %d", r.train_ds->source().c_str(),
           static_cast<long long>(r.train_ds->size()), cfg.train.batch);
  const int64_t classes = r.net.output_shape(r.net.size() - 1)[1];
  for (const Dataset* ds : {r.train_ds.get(), r.val_ds.get()})
    if (ds)
      ZF_CHECK(ds->num_classes() <= classes, "%s: %d classes but the net has %lld outputs",
               ds->source().c_str(), ds->num_classes(), static_cast<long long>(classes));
}

Run open_run(const TrainOptions& opt) {
  Config cfg = load_config(opt.config, overrides_of(opt));
  Net net = build_net(cfg.net);
  ZF_CHECK(net.has_loss(), "%s: layers: training needs a softmax_loss layer at the end",
           cfg.source.c_str());
  Run r(std::move(cfg), std::move(net));
  r.device = backend::resolve_device(opt.device.empty() ? r.cfg.train.device : opt.device);
  if (r.device.is_cuda() && !r.cfg.train.conv_math.empty())
    context(r.device).conv_math = parse_conv_math(r.cfg.train.conv_math.c_str());
  r.out = opt.out.empty() ? "runs/" + r.cfg.name : opt.out;
  r.ckdir = r.out + "/ckpt";
  r.last = r.ckdir + "/last.h5";
  r.train_ds = open_dataset(r.cfg.data, true);
  if (!r.cfg.data.val.empty()) r.val_ds = open_dataset(r.cfg.data, false);
  r.net.setup(r.cfg.train.batch);
  check_data(r);
  r.norm = make_normalizer(*r.train_ds, r.cfg.data.transform);
  return r;
}

// The class names a run stores: data.classes' file when set (a relative path that does not exist
// as given is looked up beside the config file), else the data set's own names.
std::vector<std::string> class_names_of(const Config& cfg, const Dataset& train) {
  const std::string& f = cfg.data.classes;
  if (f.empty()) return train.class_names();
  fs::path p(f);
  if (!fs::exists(p) && p.is_relative())
    p = fs::path(cfg.source).parent_path() / p;
  std::vector<std::string> names = read_class_names(p.string());
  ZF_CHECK(static_cast<int>(names.size()) >= train.num_classes(),
           "%s: data.classes: %s names %zu classes, the data set has %d", cfg.source.c_str(),
           p.string().c_str(), names.size(), train.num_classes());
  return names;
}

// The normalization stored in `from` (another run's or an imported checkpoint) as it applies to
// images of `ours`' size: as it is at the same size; a per-channel one (constant over each plane)
// broadcast to another size; else none (empty mean).
Normalizer adapt_normalizer(const Normalizer& from, const Normalizer& ours) {
  if (from.mean.empty() || from.c != ours.c) return {};
  if (from.h == ours.h && from.w == ours.w) return from;
  const size_t plane = static_cast<size_t>(from.h) * from.w;
  for (int c = 0; c < from.c; ++c)
    for (size_t i = 1; i < plane; ++i)
      if (from.mean[c * plane + i] != from.mean[c * plane]) return {};
  Normalizer n = from;
  n.h = ours.h, n.w = ours.w;
  const size_t our_plane = static_cast<size_t>(n.h) * n.w;
  n.mean.resize(static_cast<size_t>(n.c) * our_plane);
  for (int c = 0; c < n.c; ++c)
    std::fill_n(n.mean.begin() + c * our_plane, our_plane, from.mean[c * plane]);
  return n;
}

// Weights from another checkpoint (--init-from), all but the layers in `reinit`.
void init_from(Run& r, const TrainOptions& opt) {
  for (const std::string& l : opt.reinit) {
    const int i = r.net.find(l);
    ZF_CHECK(i >= 0, "--reinit %s: no such layer in %s", l.c_str(), r.cfg.source.c_str());
    bool has_params = false;
    for (auto& np : r.net.params()) has_params |= np.layer == l;
    ZF_CHECK(has_params, "--reinit %s: layer %s has no parameters", l.c_str(), l.c_str());
  }
  const int64_t loaded = load_params_by_name(opt.init_from, r.net, opt.reinit);
  const RunCheckpoint from = read_run_checkpoint(opt.init_from);
  std::string what = "the data's own normalization";
  if (Normalizer n = adapt_normalizer(from.state.norm, r.norm); !n.mean.empty()) {
    r.norm = n;
    what = "its input normalization";
  }
  std::string re;
  for (const std::string& l : opt.reinit) re += (re.empty() ? "" : ",") + l;
  if (r.lead())
    std::fprintf(stderr, "initialized from %s: %lld weights loaded%s%s; %s\n",
                 opt.init_from.c_str(), static_cast<long long>(loaded),
                 re.empty() ? "" : ", re-initialized ", re.c_str(), what.c_str());
}

// Fresh parameters (random, or another checkpoint's), or the state and parameters of
// <out>/ckpt/last.h5.
void start_or_resume(Run& r, const TrainOptions& opt) {
  if (opt.resume) {
    ZF_CHECK(fs::exists(r.last), "--resume: %s does not exist", r.last.c_str());
    r.st = load_run_checkpoint(r.last, r.net).state;
    r.cfg.train.seed = r.st.seed;
    if (r.lead())
      std::fprintf(stderr, "resuming from %s: epoch %d, iteration %lld\n", r.last.c_str(),
                   r.st.epoch, static_cast<long long>(r.st.iteration));
    // The global batch and every random draw are the same whatever the number of ranks: only the
    // order in which the gradients are summed changes.
    if (r.lead() && r.st.ranks != r.comm->size())
      std::fprintf(stderr,
                   "resuming with %d rank%s a run of %d rank%s wrote (the same global batch of "
                   "%d; the sums of gradients differ in rounding only)\n",
                   r.comm->size(), r.comm->size() == 1 ? "" : "s", r.st.ranks,
                   r.st.ranks == 1 ? "" : "s", r.cfg.train.batch);
    // A run keeps the normalization it started with (--init-from's may differ from the data's).
    if (!r.st.norm.mean.empty()) r.norm = r.st.norm;
    if (r.st.classes.empty()) r.st.classes = class_names_of(r.cfg, *r.train_ds);
  } else {
    r.net.init_params(r.cfg.train.seed);
    if (!opt.init_from.empty()) init_from(r, opt);
    r.st.seed = r.cfg.train.seed;
    r.st.lr = r.cfg.train.lr;
    r.st.classes = class_names_of(r.cfg, *r.train_ds);
  }
  r.st.norm = r.norm;
  r.st.ranks = r.comm->size();
}

std::string last_good(const Run& r) {
  return fs::exists(r.last) ? r.last : "(none yet)";
}

// Nothing non-finite is ever written: the parameters (and, after a step, their gradients) are
// checked first; a NaN or Inf stops the run as diverged (exit code 3), naming the tensor.
void check_finite(Run& r) {
  const std::string bad = find_nonfinite(r.net, r.stepped, r.finite_count);
  if (!bad.empty())
    throw Diverged(strprintf("training diverged at iteration %lld (epoch %d): %s holds NaN or Inf; "
                             "not saved; the last good checkpoint is %s",
                             static_cast<long long>(r.st.iteration), r.st.epoch + 1, bad.c_str(),
                             last_good(r).c_str()));
}

// Folders are made by the first save, so that a run that fails before it leaves nothing behind.
void save(Run& r, const std::string& path) {
  check_finite(r);
  if (r.lead()) {
    fs::create_directories(r.ckdir);
    save_run_checkpoint(path, r.net, r.cfg.text, r.st);
  }
  r.last_save = std::chrono::steady_clock::now();
}

std::string snapshot_path(const Run& r, int epoch) {
  return strprintf("%s/epoch_%03d.h5", r.ckdir.c_str(), epoch);
}
bool is_snapshot(const Run& r, int epoch) {
  const std::vector<int>& snaps = r.cfg.train.snapshots;
  return std::find(snaps.begin(), snaps.end(), epoch) != snaps.end();
}

// What a kill may have left unwritten is written again from the checkpoint: metrics.csv from its
// metrics, and the snapshot of the epoch it ended (written before last.h5 since this version, but
// a run killed between the two by an older one lacks it).
void repair_outputs(Run& r) {
  if (!r.lead()) return;
  write_metrics_csv(r.out + "/metrics.csv", r.st.metrics);
  if (r.st.position == 0 && r.st.epoch > 0 && is_snapshot(r, r.st.epoch) &&
      !fs::exists(snapshot_path(r, r.st.epoch)))
    save(r, snapshot_path(r, r.st.epoch));
}

// A mid-epoch checkpoint is due every train.checkpoint_every minutes and every
// train.checkpoint_every_iters steps.
bool checkpoint_due(const Run& r) {
  const TrainConfig& tc = r.cfg.train;
  if (tc.checkpoint_every_iters > 0 && r.st.iteration % tc.checkpoint_every_iters == 0) return true;
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - r.last_save).count() / 60.0;
  return tc.checkpoint_every > 0 && minutes >= tc.checkpoint_every;
}

// A pending SIGINT/SIGTERM; with several ranks, any rank's, so that all stop after the same step.
int stop_signal(Run& r, const StopSignals& stop) {
  return r.parallel() ? r.comm->max(stop.pending()) : stop.pending();
}

// Data-parallel: each rank's gradients are the mean over its slice of the global batch; weighted
// by the slice's share of the batch and summed over the ranks (in rank order: train/comm.h), they
// are the global batch's mean gradient, the same bits on every rank, so that all take one step.
// The sums start bucket by bucket as the backward pass completes them (overlapped under NCCL).
void backward_and_sum_gradients(Run& r, const Pass& pass, const StepInput& in) {
  const float share = static_cast<float>(in.count) / static_cast<float>(in.batch_count);
  backward_and_sum(r.net, pass, r.nccl ? *r.nccl : *r.comm, share);
}

// SIGINT/SIGTERM: the step in flight has finished; save (when the state moved since last.h5) and
// stop with the signal's exit status.
[[noreturn]] void stop_for_signal(Run& r, int sig, bool saved) {
  if (!saved) save(r, r.last);
  throw Interrupted(strprintf("interrupted by %s at iteration %lld (epoch %d); saved %s; run the "
                              "same command with --resume to continue",
                              signal_name(sig), static_cast<long long>(r.st.iteration),
                              r.st.epoch + 1, r.last.c_str()),
                    sig);
}

// One SGD step on `in`. Its one host wait is the read of the step's loss statistics, after the
// backward pass and the update are queued (and the next batch's upload started).
void train_step(Run& r, Feeder& feeder, const StepInput& in, int epoch) {
  const TrainConfig& tc = r.cfg.train;
  RunState rs;
  rs.phase = Phase::Train, rs.seed = tc.seed, rs.step = static_cast<uint64_t>(r.st.iteration);
  rs.labels = in.labels;
  rs.sample_offset = static_cast<uint64_t>(in.offset);
  const Pass pass = r.net.forward(*in.x, rs);
  if (r.parallel() || r.nccl)
    backward_and_sum_gradients(r, pass, in);
  else
    r.net.backward(pass);
  sgd_step(r.net, SgdParams{static_cast<float>(r.st.lr), tc.momentum, tc.weight_decay,
                            tc.renorm_radius});
  feeder.prefetch();  // the next batch's upload overlaps this step's queued work
  r.stepped = true;
  Tensor& stats = r.stats;
  stats.ensure(Shape{2}, Device::CPU);
  stats.copy_from(pass.loss_stats());
  float loss = stats.f32()[0], loss_sum = loss * in.count, correct = stats.f32()[1];
  if (r.parallel()) {  // the global batch's
    float s[2] = {loss_sum, correct};
    r.comm->sum(s, 2, 1.f);
    loss_sum = s[0], correct = s[1], loss = s[0] / static_cast<float>(in.batch_count);
  }
  if (!std::isfinite(loss))
    throw Diverged(strprintf(
        "training diverged at iteration %lld (epoch %d): loss is %s; the last good checkpoint is "
        "%s",
        static_cast<long long>(r.st.iteration), epoch + 1, std::isnan(loss) ? "NaN" : "infinite",
        last_good(r).c_str()));
  const int64_t seen = r.parallel() ? in.batch_count : in.count;
  r.st.run_loss += loss_sum;
  r.st.run_correct += static_cast<int64_t>(correct);
  r.st.run_seen += seen;
  ++r.st.iteration;
  r.st.position += seen;
}

// After a step: the periodic non-finite check, a mid-epoch checkpoint when one is due, a stop
// signal. Returns whether last.h5 now holds the state.
bool after_step(Run& r, const StopSignals& stop) {
  const TrainConfig& tc = r.cfg.train;
  bool saved = false;
  if (checkpoint_due(r)) {
    save(r, r.last);
    saved = true;
  } else if (tc.finite_check_every > 0 && r.st.iteration % tc.finite_check_every == 0) {
    check_finite(r);
  }
  if (int sig = stop_signal(r, stop)) stop_for_signal(r, sig, saved);
  return saved;
}

// The steps of one epoch from the state's position; false when --max-iters stopped the run (then
// last.h5 holds the state).
bool train_epoch(Run& r, int epoch, int64_t max_iters, Progress& prog, const StopSignals& stop) {
  Loader::Options lo;
  lo.batch = r.cfg.train.batch, lo.train = true, lo.seed = r.cfg.train.seed, lo.epoch = epoch;
  lo.start = r.st.position, lo.threads = r.cfg.data.threads;
  lo.classes = static_cast<int>(r.net.output_shape(r.net.size() - 1)[1]);
  lo.part = r.comm->rank(), lo.parts = r.comm->size();
  Loader loader(*r.train_ds, r.cfg.data.transform, r.norm, lo);
  Feeder feeder(loader, r.device);
  StepInput in;
  while (feeder.next(&in)) {
    train_step(r, feeder, in, epoch);
    prog.update(r.st.position, strprintf("loss %.4f", r.st.run_loss / r.st.run_seen));
    const bool saved = after_step(r, stop);
    if (max_iters > 0 && r.st.iteration >= max_iters) {
      if (!saved) save(r, r.last);
      if (r.lead())
        std::fprintf(stderr, "\nstopped after %lld iterations (--max-iters); saved %s\n",
                     static_cast<long long>(r.st.iteration), r.last.c_str());
      return false;
    }
  }
  return true;
}

// After an epoch's steps: evaluation, the metrics row, the schedule, checkpoints and the CSV.
void finish_epoch(Run& r, int epoch, Progress& prog) {
  TrainState& st = r.st;
  EpochMetrics m;
  m.epoch = epoch + 1;
  m.lr = st.lr;
  m.train_loss = st.run_seen ? st.run_loss / st.run_seen : 0;
  m.train_top1 = st.run_seen ? static_cast<double>(st.run_correct) / st.run_seen : 0;
  prog.finish(strprintf("loss %.4f", m.train_loss));
  if (r.val_ds) {
    EvalResult ev = evaluate(r.net, *r.val_ds, r.cfg.data, r.norm, r.cfg.train.batch, !r.lead(), r.comm);
    m.val_loss = ev.loss, m.val_top1 = ev.top1, m.val_top5 = ev.top5;
  }
  m.seconds = prog.seconds();
  st.metrics.push_back(m);
  if (r.lead())
    std::fprintf(
        stderr,
        "epoch %d: train loss %.4f acc %.4f | val loss %.4f top-1 %.4f top-5 %.4f | lr %.3g | %s\n",
        m.epoch, m.train_loss, m.train_top1, m.val_loss, m.val_top1, m.val_top5, m.lr,
        Progress::duration(m.seconds).c_str());
  schedule_after_epoch(r.cfg.train.schedule, m, r.val_ds != nullptr, st);
  st.epoch = epoch + 1;
  st.position = 0;
  st.run_loss = 0, st.run_correct = 0, st.run_seen = 0;
  // The snapshot first: a kill between the two leaves last.h5 at the previous state, and the
  // resumed run writes both again; the other order could lose the snapshot.
  if (is_snapshot(r, st.epoch)) save(r, snapshot_path(r, st.epoch));
  save(r, r.last);
  if (r.lead()) write_metrics_csv(r.out + "/metrics.csv", st.metrics);
}

TrainResult evaluate_only(Run& r) {
  ZF_CHECK(r.val_ds, "%s: no validation set (data.val) to evaluate on", r.cfg.source.c_str());
  ZF_CHECK(fs::exists(r.last), "--evaluate: %s does not exist", r.last.c_str());
  TrainResult res;
  res.state = load_run_checkpoint(r.last, r.net).state;
  if (!res.state.norm.mean.empty()) r.norm = res.state.norm;  // the run's own normalization
  r.net.to(r.device);
  EvalResult ev = evaluate(r.net, *r.val_ds, r.cfg.data, r.norm, r.cfg.train.batch, !r.lead(), r.comm);
  EpochMetrics m;
  m.epoch = res.state.epoch, m.lr = res.state.lr, m.val_loss = ev.loss, m.val_top1 = ev.top1,
  m.val_top5 = ev.top5;
  res.state.metrics.push_back(m);
  res.finished = true;
  return res;
}

// Opens the run and, unless it only evaluates, starts or resumes it: everything that can fail
// before the first step.
std::unique_ptr<Run> open_and_start(const TrainOptions& opt, Comm& comm) {
  auto r = std::make_unique<Run>(open_run(opt));
  r->comm = &comm;
  if (opt.evaluate_only) return r;
  const int ranks = comm.size();
  if (ranks > 1) {
    if (r->device.is_cuda()) {  // one GPU per rank, by the rank's place on its machine
      ZF_CHECK(comm_has_nccl(),
               "mpirun: ranks that train on GPUs need NCCL, and this build has none (it needs the "
               "CUDA toolkit's nccl.h, or NCCL_ROOT at configure time); use --device cpu");
      r->device = Device::cuda(comm.local_rank());
    }
    ZF_CHECK(r->cfg.train.batch >= ranks, "%s: train.batch %d is smaller than the %d ranks",
             r->cfg.source.c_str(), r->cfg.train.batch, ranks);
    // The largest slice of a global batch that a rank computes (Loader::Options::part).
    const int b = r->cfg.train.batch;
    r->net.setup(b * (comm.rank() + 1) / ranks - b * comm.rank() / ranks);
  }
  start_or_resume(*r, opt);
  r->net.to(r->device);
  r->net.reserve_memory();  // fails here, before any work, when the batch does not fit
  if (opt.resume) repair_outputs(*r);
  return r;
}

// With several ranks, they first agree whether every one could start, so that none waits in a
// collective for a rank that has stopped: a failure every rank met (a bad config, missing data) is
// reported by rank 0 alone, one that a rank met alone by that rank.
std::unique_ptr<Run> open_and_start_all(const TrainOptions& opt, Comm& comm) {
  if (comm.size() == 1) {
    std::unique_ptr<Run> r = open_and_start(opt, comm);
    if (opt.nccl && !opt.evaluate_only) {
      ZF_CHECK(r->device.is_cuda(), "--nccl: the run is on %s; NCCL sums GPU memory",
               device_name(r->device));
      r->nccl = make_nccl_comm(comm, r->device);
    }
    return r;
  }
  std::unique_ptr<Run> r;
  std::string err;
  try {
    r = open_and_start(opt, comm);
  } catch (const std::exception& e) {
    err = e.what();
  }
  const bool failed = !err.empty();
  const bool any = comm.max(failed) != 0, lead_failed = comm.max(comm.rank() == 0 && failed) != 0;
  if (failed) throw StartFailed(err, comm.rank() == 0 || !lead_failed);
  if (any) throw StartFailed("another rank could not start", false);
  // NCCL's set-up is collective: only once every rank is known to be here.
  if (r->device.is_cuda()) r->nccl = make_nccl_comm(comm, r->device);
  return r;
}

}  // namespace

std::vector<GradBucket> plan_grad_buckets(Net& net, size_t min_bytes) {
  const Tensor block = net.param_grad_block();
  const char* base = static_cast<const char*>(block.raw());
  const size_t n = static_cast<size_t>(block.numel());
  // Each layer's gradients as a range of the block; the layers' ranges must ascend with the
  // layers (Net lays the arena out so) for consecutive layers to make one range.
  struct Span {
    int layer;
    size_t begin, end;
  };
  std::vector<Span> spans;
  for (int i = 0; i < net.size(); ++i) {
    size_t lo = n, hi = 0;
    for (Param* p : net.layer(i).params()) {
      const size_t off = static_cast<size_t>(static_cast<const char*>(p->grad.raw()) - base);
      lo = std::min(lo, off / sizeof(float));
      hi = std::max(hi, (off + p->grad.bytes()) / sizeof(float));
    }
    if (hi > 0) spans.push_back(Span{i, lo, hi});
  }
  bool ascending = true;
  for (size_t k = 1; k < spans.size(); ++k) ascending &= spans[k - 1].end <= spans[k].begin;
  if (!ascending) return {GradBucket{spans.front().layer, 0, n}};  // one bucket: still correct
  std::vector<GradBucket> out;
  size_t end = n;
  for (size_t k = spans.size(); k-- > 0;) {
    const size_t begin = k == 0 ? 0 : spans[k].begin;
    if (k == 0 || (end - begin) * sizeof(float) >= min_bytes) {
      out.push_back(GradBucket{spans[k].layer, begin, end});
      end = begin;
    }
  }
  return out;
}

void backward_and_sum(Net& net, const Pass& pass, Comm& comm, float weight, size_t min_bytes) {
  const std::vector<GradBucket> buckets = plan_grad_buckets(net, min_bytes);
  float* block = static_cast<float*>(net.param_grad_block().raw());
  size_t next = 0;
  net.backward(pass, [&](int layer) {
    for (; next < buckets.size() && buckets[next].layer == layer; ++next)
      comm.sum_start(block + buckets[next].begin, buckets[next].end - buckets[next].begin, weight);
  });
  ZF_CHECK(next == buckets.size(), "backward_and_sum: %zu of %zu buckets started", next,
           buckets.size());
  comm.sum_finish();
}

EvalResult evaluate(Net& net, const Dataset& ds, const DataConfig& dc, const Normalizer& norm,
                    int batch, bool quiet, Comm* comm) {
  const int64_t N = ds.size();
  const int views = dc.eval_crops;
  const int parts = comm ? comm->size() : 1;
  int64_t K = 0;
  std::vector<float> probs;  // summed over views, [N, K]
  std::vector<int32_t> labels(static_cast<size_t>(N));
  std::vector<int64_t> mine;  // with several ranks: the samples this rank evaluates, in order
  Tensor xbuf, host_prob;
  Progress prog("eval", N, 60.0, quiet);
  // All views of a sample come from one decode of its image (Loader::Options::views), as
  // consecutive rows of a batch of about `batch` rows.
  Loader::Options o;
  o.batch = std::max(views > 1 ? batch / views : batch, parts);
  o.train = false, o.drop_last = false, o.threads = dc.threads, o.views = views;
  o.classes = static_cast<int>(net.output_shape(net.size() - 1)[1]);
  if (parts > 1) o.part = comm->rank(), o.parts = parts;
  Loader loader(ds, dc.transform, norm, o);
  RunState rs;
  rs.phase = Phase::Eval;
  while (const Batch* b = loader.next()) {
    if (b->count == 0) continue;  // a last batch smaller than the number of ranks
    const Pass pass = net.forward(on_device(b->x, xbuf, net.device()), rs);
    host_prob.ensure(pass.probabilities().shape(), Device::CPU);
    host_prob.copy_from(pass.probabilities());
    if (K == 0) {
      K = host_prob.dim(1);
      probs.assign(static_cast<size_t>(N * K), 0.f);
    }
    for (int64_t k = 0; k < b->count; ++k) {
      const int64_t i = b->index[k];
      labels[i] = b->labels.i32()[k];
      if (parts > 1) mine.push_back(i);
      for (int v = 0; v < views; ++v) {
        const float* p = host_prob.f32() + (k * views + v) * K;
        for (int64_t j = 0; j < K; ++j) probs[i * K + j] += p[j] / views;
      }
    }
    prog.update(loader.position());
  }
  if (parts > 1) {
    // This rank's samples only (each view visits the same ones), then the sums over the ranks.
    if (K == 0) K = net.output_shape(net.size() - 1)[1];
    std::vector<float> p(mine.size() * static_cast<size_t>(K));
    std::vector<int32_t> l(mine.size());
    double loss = 0;
    for (size_t m = 0; m < mine.size(); ++m) {
      const int64_t i = mine[m];
      ZF_CHECK(labels[i] < K, "%s: label %d but the net has %lld outputs", ds.source().c_str(),
               labels[i], static_cast<long long>(K));
      std::copy_n(&probs[i * K], K, &p[m * K]);
      l[m] = labels[i];
      loss -= std::log(std::max(probs[i * K + labels[i]], 1e-30f));
    }
    const int64_t n = static_cast<int64_t>(mine.size());
    float s[4] = {static_cast<float>(loss), static_cast<float>(count_topk(p.data(), l.data(), n, K, 1)),
                  static_cast<float>(count_topk(p.data(), l.data(), n, K, 5)),
                  static_cast<float>(n)};
    comm->sum(s, 4, 1.f);
    ZF_CHECK(static_cast<int64_t>(s[3]) == N, "evaluation: the ranks saw %.0f of %lld samples",
             s[3], static_cast<long long>(N));
    EvalResult r;
    r.count = N;
    r.loss = s[0] / N, r.top1 = s[1] / N, r.top5 = s[2] / N;
    return r;
  }
  EvalResult r;
  r.count = N;
  double loss = 0;
  for (int64_t i = 0; i < N; ++i) {
    ZF_CHECK(labels[i] < K, "%s: label %d but the net has %lld outputs", ds.source().c_str(),
             labels[i], static_cast<long long>(K));
    loss -= std::log(std::max(probs[i * K + labels[i]], 1e-30f));
  }
  r.loss = loss / N;
  r.top1 = static_cast<double>(count_topk(probs.data(), labels.data(), N, K, 1)) / N;
  r.top5 = static_cast<double>(count_topk(probs.data(), labels.data(), N, K, 5)) / N;
  return r;
}

TrainResult train(const TrainOptions& opt) {
  // Training does not need an image's bits to be independent of its batch, so while it runs the CPU
  // convolutions may multiply several images at once where that is faster (Context::batch_invariant;
  // still the same bits from run to run and on resuming).
  const ScopedBatchInvariance batch_variant(false);
  std::unique_ptr<Comm> single;
  Comm* comm = opt.comm;
  if (!comm) {
    single = make_single_comm();
    comm = single.get();
  }
  std::unique_ptr<Run> run = open_and_start_all(opt, *comm);
  Run& r = *run;
  if (opt.evaluate_only) return evaluate_only(r);
  const StopSignals stop;
  const TrainConfig& tc = r.cfg.train;
  const std::string ranks =
      r.parallel() ? strprintf(" over %d %s ranks", comm->size(), comm->backend()) : "";
  if (r.lead())
    std::fprintf(
        stderr,
        "zf_train: %s on %s%s%s, %lld training images%s, batch %d (%.0f MiB of buffers%s), %d "
        "epochs, out %s\n",
        r.cfg.name.c_str(), device_name(r.device),
        r.device.is_cuda() ? strprintf(" (convolutions in %s)",
                                       conv_math_name(context(r.device).conv_math))
                                 .c_str()
                           : "",
        ranks.c_str(),
        static_cast<long long>(r.train_ds->size()),
        r.val_ds ? strprintf(", %lld validation", static_cast<long long>(r.val_ds->size())).c_str()
                 : "",
        tc.batch, static_cast<double>(r.net.arena_bytes()) / (1 << 20),
        r.parallel() ? " per rank" : "", tc.epochs, r.out.c_str());
  TrainResult result;
  for (int epoch = r.st.epoch; epoch < tc.epochs; ++epoch) {
    Progress prog(strprintf("epoch %d/%d", epoch + 1, tc.epochs), r.train_ds->size(), 30.0,
                  !r.lead());
    if (!train_epoch(r, epoch, opt.max_iters, prog, stop)) {
      result.state = r.st;
      return result;
    }
    finish_epoch(r, epoch, prog);
    if (int sig = stop_signal(r, stop)) stop_for_signal(r, sig, true);
  }
  result.state = r.st;
  result.finished = true;
  return result;
}

}  // namespace zf
