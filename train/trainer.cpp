// The training loop (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/backend.h"
#include "core/optimizer.h"
#include "train/feeder.h"
#include "train/progress.h"

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

Device resolve_device(const std::string& d) {
  if (d == "auto") return backend::cuda_available() ? Device::CUDA : Device::CPU;
  Device dev = parse_device(d);
  if (dev == Device::CUDA)
    ZF_CHECK(backend::cuda_available(), "--device cuda: %s", backend::cuda_status().c_str());
  return dev;
}

void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& ms) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    ZF_CHECK(f, "%s: cannot write", tmp.c_str());
    f << "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,seconds\n";
    for (const auto& m : ms)
      f << strprintf("%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f\n", m.epoch, m.lr, m.train_loss,
                     m.train_top1, m.val_loss, m.val_top1, m.val_top5, m.seconds);
    ZF_CHECK(f.good(), "%s: write failed", tmp.c_str());
  }
  ZF_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "%s: cannot rename into place",
           path.c_str());
}

// The batch's input on the net's device (a copy into a reused buffer when that is the GPU).
const Tensor& on_device(const Tensor& host, Tensor& buf, Device d) {
  if (d == Device::CPU) return host;
  buf.ensure(host.shape(), d, host.dtype());
  buf.copy_from(host);
  return buf;
}

}  // namespace

EvalResult evaluate(Net& net, const Dataset& ds, const DataConfig& dc, const Normalizer& norm,
                    int batch) {
  const int64_t N = ds.size();
  const int views = dc.eval_crops;
  int64_t K = 0;
  std::vector<float> probs;  // summed over views, [N, K]
  std::vector<int32_t> labels(static_cast<size_t>(N));
  Tensor xbuf, host_prob;
  Progress prog("eval", N * views, 60.0);
  for (int v = 0; v < views; ++v) {
    Loader::Options o;
    o.batch = batch, o.train = false, o.drop_last = false, o.threads = dc.threads;
    o.view = views == 1 ? kCenterView : v;
    Loader loader(ds, dc.transform, norm, o);
    RunState rs;
    rs.phase = Phase::Eval;
    while (const Batch* b = loader.next()) {
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
        for (int64_t j = 0; j < K; ++j) probs[i * K + j] += host_prob.f32()[k * K + j] / views;
      }
      prog.update(v * N + loader.position());
    }
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
  Config cfg = load_config(opt.config);
  TrainConfig& tc = cfg.train;
  if (opt.epochs > 0) tc.epochs = opt.epochs;
  if (opt.seed >= 0) tc.seed = static_cast<uint64_t>(opt.seed);
  if (opt.limit_train >= 0) cfg.data.limit_train = opt.limit_train;
  if (opt.limit_val >= 0) cfg.data.limit_val = opt.limit_val;
  if (opt.batch > 0) tc.batch = opt.batch;
  if (!opt.train_data.empty()) cfg.data.train = opt.train_data;
  if (!opt.val_data.empty()) cfg.data.val = opt.val_data;
  const Device device = resolve_device(opt.device.empty() ? tc.device : opt.device);
  const std::string out = opt.out.empty() ? "runs/" + cfg.name : opt.out;
  const std::string ckdir = out + "/ckpt", last = ckdir + "/last.h5";

  Net net = Net::from_yaml(cfg.text, cfg.source);
  ZF_CHECK(net.has_loss(),
           "%s: layers: training needs a softmax_loss layer at the end", cfg.source.c_str());
  std::unique_ptr<Dataset> train_ds = open_dataset(cfg.data, true);
  std::unique_ptr<Dataset> val_ds = cfg.data.val.empty() ? nullptr : open_dataset(cfg.data, false);
  const Shape& in = net.input_chw();
  const int crop = cfg.data.transform.crop ? cfg.data.transform.crop
                                           : train_ds->height() + 2 * cfg.data.transform.pad;
  ZF_CHECK(train_ds->channels() == in[0] && crop == in[1] && crop == in[2],
           "%s: data gives %dx%dx%d samples but input: is %lldx%lldx%lld", cfg.source.c_str(),
           train_ds->channels(), crop, crop, static_cast<long long>(in[0]),
           static_cast<long long>(in[1]), static_cast<long long>(in[2]));
  ZF_CHECK(train_ds->size() >= tc.batch, "%s: %lld training samples, fewer than one batch of %d",
           train_ds->source().c_str(), static_cast<long long>(train_ds->size()), tc.batch);
  net.setup(tc.batch);
  const int64_t classes = net.output_shape(net.size() - 1)[1];
  ZF_CHECK(train_ds->num_classes() <= classes, "%s: %d classes but the net has %lld outputs",
           train_ds->source().c_str(), train_ds->num_classes(), static_cast<long long>(classes));
  const Normalizer norm = make_normalizer(*train_ds, cfg.data.transform);

  CheckpointMeta meta;
  if (opt.evaluate_only) {
    ZF_CHECK(val_ds, "%s: no validation set (data.val) to evaluate on", cfg.source.c_str());
    ZF_CHECK(fs::exists(last), "--evaluate: %s does not exist", last.c_str());
    meta = load_checkpoint(last, net);
    net.to(device);
    EvalResult ev = evaluate(net, *val_ds, cfg.data, norm, tc.batch);
    EpochMetrics m;
    m.epoch = meta.epoch, m.lr = meta.lr, m.val_loss = ev.loss, m.val_top1 = ev.top1,
    m.val_top5 = ev.top5;
    meta.metrics.push_back(m);
    TrainResult r;
    r.meta = meta;
    r.finished = true;
    return r;
  }
  if (opt.resume) {
    ZF_CHECK(fs::exists(last), "--resume: %s does not exist", last.c_str());
    meta = load_checkpoint(last, net);
    tc.seed = meta.seed;
    std::fprintf(stderr, "resuming from %s: epoch %d, iteration %lld\n", last.c_str(), meta.epoch,
                 static_cast<long long>(meta.iteration));
  } else {
    net.init_params(tc.seed);
    meta.seed = tc.seed;
    meta.lr = tc.lr;
  }
  meta.arch = net.arch();
  meta.config = cfg.text;
  meta.data_mean_shape = Shape{norm.c, norm.h, norm.w};
  meta.data_mean = norm.mean;
  meta.data_inv_std = norm.inv_std;
  meta.data_scale = norm.scale;
  net.to(device);
  net.reserve_memory();  // fails here, before any work, when the batch does not fit
  fs::create_directories(ckdir);

  std::fprintf(
      stderr,
      "zf_train: %s on %s, %lld training images%s, batch %d (%.0f MiB of buffers), %d epochs, out "
      "%s\n",
      cfg.name.c_str(), device_name(device), static_cast<long long>(train_ds->size()),
      val_ds ? strprintf(", %lld validation", static_cast<long long>(val_ds->size())).c_str() : "",
      tc.batch, static_cast<double>(net.arena_bytes()) / (1 << 20), tc.epochs, out.c_str());

  Tensor stats;
  TrainResult result;
  for (int epoch = meta.epoch; epoch < tc.epochs; ++epoch) {
    Loader::Options lo;
    lo.batch = tc.batch, lo.train = true, lo.seed = tc.seed, lo.epoch = epoch;
    lo.start = meta.position, lo.threads = cfg.data.threads;
    Loader loader(*train_ds, cfg.data.transform, norm, lo);
    Feeder feeder(loader, device);
    Progress prog(strprintf("epoch %d/%d", epoch + 1, tc.epochs), train_ds->size(), 30.0);
    StepInput in;
    while (feeder.next(&in)) {
      RunState rs;
      rs.phase = Phase::Train, rs.seed = tc.seed, rs.step = static_cast<uint64_t>(meta.iteration);
      rs.labels = in.labels;
      const Pass pass = net.forward(*in.x, rs);
      net.backward(pass);
      sgd_step(net, SgdParams{static_cast<float>(meta.lr), tc.momentum, tc.weight_decay,
                              tc.renorm_radius});
      feeder.prefetch();  // the next batch's upload overlaps this step's queued backward pass and
                          // update
      // The step's one host wait: its loss statistics.
      stats.ensure(Shape{2}, Device::CPU);
      stats.copy_from(pass.loss_stats());
      const float loss = stats.f32()[0];
      if (!std::isfinite(loss))
        throw Diverged(strprintf(
            "training diverged at iteration %lld (epoch %d): loss is %s; the last good "
            "checkpoint is %s",
            static_cast<long long>(meta.iteration), epoch + 1,
            std::isnan(loss) ? "NaN" : "infinite", fs::exists(last) ? last.c_str() : "(none yet)"));
      meta.run_loss += loss * in.count;
      meta.run_correct += static_cast<int64_t>(stats.f32()[1]);
      meta.run_seen += in.count;
      ++meta.iteration;
      meta.position += in.count;
      prog.update(meta.position, strprintf("loss %.4f", meta.run_loss / meta.run_seen));
      if (opt.max_iters > 0 && meta.iteration >= opt.max_iters) {
        save_checkpoint(last, net, meta);
        std::fprintf(stderr, "\nstopped after %lld iterations (--max-iters); saved %s\n",
                     static_cast<long long>(meta.iteration), last.c_str());
        result.meta = meta;
        return result;
      }
    }
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = meta.lr;
    m.train_loss = meta.run_seen ? meta.run_loss / meta.run_seen : 0;
    m.train_top1 = meta.run_seen ? static_cast<double>(meta.run_correct) / meta.run_seen : 0;
    prog.finish(strprintf("loss %.4f", m.train_loss));
    if (val_ds) {
      EvalResult ev = evaluate(net, *val_ds, cfg.data, norm, tc.batch);
      m.val_loss = ev.loss, m.val_top1 = ev.top1, m.val_top5 = ev.top5;
    }
    m.seconds = prog.seconds();
    meta.metrics.push_back(m);
    std::fprintf(
        stderr,
        "epoch %d: train loss %.4f acc %.4f | val loss %.4f top-1 %.4f top-5 %.4f | lr %.3g | %s\n",
        m.epoch, m.train_loss, m.train_top1, m.val_loss, m.val_top1, m.val_top5, m.lr,
        Progress::duration(m.seconds).c_str());

    // Learning-rate schedule for the next epoch.
    const ScheduleConfig& sc = tc.schedule;
    if (sc.type == "step" && (epoch + 1) % sc.step_epochs == 0) {
      meta.lr *= sc.gamma;
    } else if (sc.type == "plateau" && val_ds) {
      if (meta.metrics.size() == 1 || m.val_loss < meta.best_metric * (1.0 - sc.threshold)) {
        meta.best_metric = m.val_loss;
        meta.plateau_count = 0;
      } else if (++meta.plateau_count >= sc.patience) {
        meta.lr = std::max<double>(meta.lr * sc.gamma, sc.min_lr);
        meta.plateau_count = 0;
      }
    }
    meta.epoch = epoch + 1;
    meta.position = 0;
    meta.run_loss = 0, meta.run_correct = 0, meta.run_seen = 0;
    save_checkpoint(last, net, meta);
    if (std::find(tc.snapshots.begin(), tc.snapshots.end(), meta.epoch) != tc.snapshots.end())
      save_checkpoint(strprintf("%s/epoch_%03d.h5", ckdir.c_str(), meta.epoch), net, meta);
    write_metrics_csv(out + "/metrics.csv", meta.metrics);
  }
  result.meta = meta;
  result.finished = true;
  return result;
}

}  // namespace zf
