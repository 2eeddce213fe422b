// Writes the fuzz targets' seed corpora with the project's own writers (small valid inputs, each a
// few KB):  zf_fuzz_corpus tests/fuzz/corpus   (then commit what changed). The outputs are
// deterministic: images and data are drawn from fixed formulas, HDF5 files carry no timestamps.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/nn/net_spec.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/config.h"
#include "train/image_io.h"
#include "train/shards.h"
#include "train/train_state.h"

namespace fs = std::filesystem;
using namespace zf;

namespace {

void write(const fs::path& p, const std::vector<uint8_t>& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<uint8_t> read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& b, const fs::path& tmp) {
  gzFile f = gzopen(tmp.c_str(), "wb9");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
  std::vector<uint8_t> out = read(tmp);
  fs::remove(tmp);
  return out;
}

// fuzz_idx's input: 2-byte length of the labels file, the labels file, the images file.
std::vector<uint8_t> idx_input(const std::vector<uint8_t>& labels,
                               const std::vector<uint8_t>& images) {
  std::vector<uint8_t> v = {static_cast<uint8_t>(labels.size()),
                            static_cast<uint8_t>(labels.size() >> 8)};
  v.insert(v.end(), labels.begin(), labels.end());
  v.insert(v.end(), images.begin(), images.end());
  return v;
}

Image picture(int w, int h, int c) {
  Image img;
  img.width = w, img.height = h, img.channels = c;
  img.pixels.resize(static_cast<size_t>(w) * h * c);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 29 % 251);
  return img;
}

void idx_corpus(const fs::path& dir) {
  const int n = 3, h = 4, w = 5;
  std::vector<uint8_t> images, labels;
  put_be32(images, 0x803), put_be32(images, n), put_be32(images, h), put_be32(images, w);
  for (int i = 0; i < n * h * w; ++i) images.push_back(static_cast<uint8_t>(i * 13));
  put_be32(labels, 0x801), put_be32(labels, n);
  for (int i = 0; i < n; ++i) labels.push_back(static_cast<uint8_t>(i * 4));
  write(dir / "pair", idx_input(labels, images));
  write(dir / "pair_gz", idx_input(gzip(labels, dir / "tmp.gz"), gzip(images, dir / "tmp.gz")));
}

void image_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  write_png((dir / "rgb.png").string(), picture(9, 6, 3));
  write_png((dir / "gray.png").string(), picture(5, 7, 1));
  write(dir / "rgb.jpg", encode_jpeg(picture(16, 12, 3), 80));
  write(dir / "gray.jpg", encode_jpeg(picture(8, 8, 1), 90));
}

void config_corpus(const fs::path& dir, const fs::path& repo) {
  fs::create_directories(dir);
  fs::copy_file(repo / "configs/tiny.yaml", dir / "tiny.yaml",
                fs::copy_options::overwrite_existing);
  const std::string micro = fuzz::kMicroConfig;
  write(dir / "micro.yaml", std::vector<uint8_t>(micro.begin(), micro.end()));
}

void checkpoint_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  const Config cfg = parse_config(fuzz::kMicroConfig, "micro.yaml");
  Net net = build_net(cfg.net);
  net.init_params(5);
  TrainState s;
  s.epoch = 2, s.iteration = 20, s.seed = 3, s.lr = 0.01, s.position = 4;
  for (int e = 1; e <= 2; ++e) {
    EpochMetrics m;
    m.epoch = e, m.lr = 0.01, m.train_loss = 1.0 / e, m.val_top1 = 0.5;
    s.metrics.push_back(m);
  }
  s.norm.c = 1, s.norm.h = 6, s.norm.w = 6, s.norm.scale = 1.f;
  for (int i = 0; i < 36; ++i) s.norm.mean.push_back(static_cast<float>(i));
  s.norm.inv_std = {0.5f};
  save_run_checkpoint((dir / "micro.h5").string(), net, cfg.text, s);
}

void shard_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  ShardContents raw;
  raw.store = "raw", raw.channels = 1, raw.height = 4, raw.width = 4, raw.key = "k";
  raw.labels = {0, 2, 1};
  raw.bytes.resize(3 * 16);
  for (size_t i = 0; i < raw.bytes.size(); ++i) raw.bytes[i] = static_cast<uint8_t>(i * 7);
  raw.pixel_sum.assign(16, 3.0);
  raw.skipped = {"a.jpg: corrupt"};
  write_shard((dir / "raw.h5").string(), raw);
  ShardContents jpg;
  jpg.store = "jpeg", jpg.channels = 3, jpg.height = 8, jpg.width = 8, jpg.key = "k";
  jpg.labels = {1, 0};
  jpg.offsets = {0};
  for (int i = 0; i < 2; ++i) {
    Image img = picture(8, 8, 3);
    img.pixels[0] = static_cast<uint8_t>(i);
    const std::vector<uint8_t> b = encode_jpeg(img, 75);
    jpg.bytes.insert(jpg.bytes.end(), b.begin(), b.end());
    jpg.offsets.push_back(static_cast<int64_t>(jpg.bytes.size()));
  }
  jpg.pixel_sum.assign(3 * 64, 1.0);
  write_shard((dir / "jpeg.h5").string(), jpg);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: zf_fuzz_corpus OUT_DIR (tests/fuzz/corpus)\n");
    return 2;
  }
  try {
    const fs::path out = argv[1];
    const fs::path repo = ZF_SOURCE_DIR;
    idx_corpus(out / "idx");
    image_corpus(out / "image");
    config_corpus(out / "config", repo);
    checkpoint_corpus(out / "checkpoint");
    shard_corpus(out / "shard");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zf_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
