// zf_predict --checkpoint C IMAGE...: the top classes of each image with their probabilities and
// names, and on request every logit to HDF5 or CSV (see README.md, "zf_predict").
// Each image is decoded, resized and center-cropped, padded and normalized exactly as the
// checkpoint's evaluation data (its config's transform and its stored normalization).
// Exit codes: 0 done, 1 error, 2 bad command line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "core/io/h5io.h"
#include "train/cli.h"
#include "visualize/analyses/common.h"

using namespace zf;

namespace {

struct PredictOptions {
  std::string checkpoint, classes, dump, device = "cpu";
  std::vector<std::string> images;
  int top = 5, batch = 32;
};

// The net's logits: the input of its softmax_loss layer, or its last layer's output.
int logits_layer(const Net& net) {
  return net.has_loss() ? net.size() - 2 : net.size() - 1;
}

void write_dump(const std::string& path, const PredictOptions& o, const Tensor& logits,
                const std::vector<std::vector<double>>& probs,
                const std::vector<std::string>& names) {
  const int64_t N = logits.dim(0), K = logits.dim(1);
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  if (csv) {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp);
      ZF_CHECK(f.good(), "%s: cannot write", tmp.c_str());
      f << "image,class,name,logit,probability\n";
      char buf[64];
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          std::snprintf(buf, sizeof buf, "%.9g,%.9g", static_cast<double>(logits.f32()[n * K + k]),
                        probs[n][k]);
          std::string name = names[k];
          std::replace(name.begin(), name.end(), ',', ' ');
          f << o.images[n] << "," << k << "," << name << "," << buf << "\n";
        }
      f.flush();
      ZF_CHECK(f.good(), "%s: write failed", tmp.c_str());
    }
    h5::rename_durably(tmp, path);
    return;
  }
  h5::write_file_atomically(path, [&](hid_t f) {
    h5::write_attr_str(f, "checkpoint", o.checkpoint.c_str());
    std::vector<hsize_t> dims = {static_cast<hsize_t>(N), static_cast<hsize_t>(K)};
    h5::write_array(f, "logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, logits.f32());
    std::vector<float> p;
    for (const auto& row : probs)
      for (double v : row) p.push_back(static_cast<float>(v));
    h5::write_array(f, "probabilities", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, p.data());
    h5::write_strings(f, "images", o.images);
    h5::write_strings(f, "classes", names);
  });
}

int run(const PredictOptions& o) {
  Session s = open_session(o.checkpoint, "", backend::resolve_device(o.device));
  const std::vector<std::string> names = class_names(s, o.classes);
  std::unique_ptr<Dataset> ds = open_image_files(s, o.images);
  const Shape& in = s.net->input_chw();
  const int64_t N = ds->size(), chw = in[0] * in[1] * in[2];
  Tensor x(Shape{N, in[0], in[1], in[2]});
  for (int64_t i = 0; i < N; ++i)
    view_sample(*ds, s.cfg.data.transform, s.norm, i, kCenterView, x.f32() + i * chw);
  const int li = logits_layer(*s.net);
  Forward fw = forward_host(s, x, {li}, false, o.batch);
  Tensor& logits = fw.acts[0];
  ZF_CHECK(logits.ndim() == 2 || (logits.ndim() == 4 && logits.dim(2) == 1 && logits.dim(3) == 1),
           "%s: layer %s gives %s, not one score per class", o.checkpoint.c_str(),
           s.net->layer(li).name().c_str(), logits.shape().str().c_str());
  const int64_t K = logits.numel() / N;
  logits.reshape(Shape{N, K});
  // Softmax in double, from the logits (the same for nets without a loss layer).
  std::vector<std::vector<double>> probs(N, std::vector<double>(K));
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits.f32() + n * K;
    const double mx = *std::max_element(l, l + K);
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += probs[n][k] = std::exp(l[k] - mx);
    for (double& p : probs[n]) p /= sum;
  }
  const int top = static_cast<int>(std::min<int64_t>(o.top, K));
  for (int64_t n = 0; n < N; ++n) {
    std::printf("%s\n", o.images[n].c_str());
    std::vector<int64_t> order(K);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return probs[n][a] > probs[n][b]; });
    for (int r = 0; r < top; ++r)
      std::printf("  %2d. %-24s p=%.4f  logit %+.4f  (class %lld)\n", r + 1,
                  names[order[r]].c_str(), probs[n][order[r]],
                  static_cast<double>(logits.f32()[n * K + order[r]]),
                  static_cast<long long>(order[r]));
  }
  if (!o.dump.empty()) {
    write_dump(o.dump, o, logits, probs, names);
    std::printf("logits of %lld images x %lld classes -> %s\n", static_cast<long long>(N),
                static_cast<long long>(K), o.dump.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  PredictOptions o;
  CLI::App app{
      "classify images with a checkpoint (zf_train's or zf_import's): the top classes with their "
      "probabilities and names, and on request all logits to HDF5 or CSV"};
  app.add_option("--checkpoint", o.checkpoint, "checkpoint (.h5)")->required();
  app.add_option("images", o.images, "image files (JPEG or PNG)")->required();
  app.add_option("--top", o.top, "classes shown per image (default 5)")->check(IntRange(1, 1 << 20));
  app.add_option("--classes", o.classes,
                 "class names, one per line (default: those stored in the checkpoint, else "
                 "numbers)");
  app.add_option("--dump", o.dump,
                 "write logits and probabilities: FILE.h5 (datasets logits, probabilities [N,K], "
                 "images, classes) or FILE.csv (one row per image and class)");
  app.add_option("--batch", o.batch, "images per forward pass (default 32)")
      ->check(IntRange(1, 4096));
  app.add_option("--device", o.device, "cpu | cuda | auto (default cpu)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.name("zf_predict");
  if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
  try {
    return run(o);
  } catch (const std::exception& e) {
    report_error("zf_predict", e);
    return 1;
  }
}
