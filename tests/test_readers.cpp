// The readers of files the project writes (shards, checkpoints) given files that lie: sizes of
// zero, offsets out of order or past the data, labels at INT32_MAX, datasets that declare
// terabytes, non-finite parameters and metrics. Each must fail at open with one zf::Error naming
// the file and the field, before a buffer is sized from what the file says; a failed open leaves no
// HDF5 file open. Also: write_file_atomically fsyncs the file before its rename and the folder
// after it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/io/h5io.h"
#include "core/nn/net_spec.h"
#include "train/config.h"
#include "train/loader.h"
#include "train/shards.h"
#include "train/train_state.h"

namespace fs = std::filesystem;
using namespace zf;

// ---- fsync and rename, interposed for the whole binary (the library is linked statically, so its
// calls bind to these), recorded only while a test asks, and forwarded to the kernel.
namespace {
bool g_record = false;
std::vector<std::string> g_events;

std::string fd_path(int fd) {
  char buf[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
}
}  // namespace

extern "C" int fsync(int fd) {
  if (g_record) {
    struct stat st {};
    fstat(fd, &st);
    g_events.push_back(std::string(S_ISDIR(st.st_mode) ? "fsync dir " : "fsync file ") +
                       fd_path(fd));
  }
  return static_cast<int>(syscall(SYS_fsync, fd));
}

extern "C" int rename(const char* from, const char* to) {
  if (g_record) g_events.push_back(std::string("rename ") + from + " " + to);
  return static_cast<int>(syscall(SYS_rename, from, to));
}

namespace {

const std::string kRepo = ZF_SOURCE_DIR;

// A fresh folder per test, removed afterwards.
class Readers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zf_readers_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    h5::quiet_hdf5();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// The message of the zf::Error that `f` throws ("" when it throws none; other exceptions fail).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_ERROR_NAMES(msg, a, b)                                                    \
  do {                                                                                   \
    const std::string m_ = (msg);                                                        \
    EXPECT_NE(m_.find(a), std::string::npos) << "expected \"" << (a) << "\" in: " << m_; \
    EXPECT_NE(m_.find(b), std::string::npos) << "expected \"" << (b) << "\" in: " << m_; \
  } while (0)

int open_files() {
  return static_cast<int>(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE));
}

// A valid raw shard of `n` c x h x w images (labels 0..n-1).
ShardContents raw_shard(int n, int c, int h, int w) {
  ShardContents s;
  s.store = "raw", s.channels = c, s.height = h, s.width = w, s.key = "k";
  for (int i = 0; i < n; ++i) s.labels.push_back(i);
  s.bytes.resize(static_cast<size_t>(n) * c * h * w);
  for (size_t i = 0; i < s.bytes.size(); ++i) s.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  s.pixel_sum.assign(static_cast<size_t>(c) * h * w, 1.0);
  return s;
}

// A JPEG-store shard whose offsets are given (the bytes are not valid JPEGs: the checks at open
// come first).
ShardContents jpeg_shard(std::vector<int64_t> offsets, size_t bytes) {
  ShardContents s;
  s.store = "jpeg", s.channels = 1, s.height = 4, s.width = 4, s.key = "k";
  for (size_t i = 0; i + 1 < offsets.size(); ++i) s.labels.push_back(0);
  s.offsets = std::move(offsets);
  s.bytes.assign(bytes, 0xAB);
  s.pixel_sum.assign(16, 0.0);
  return s;
}

// Replaces integer attribute `name` of file `p`'s root.
void set_attr(const std::string& p, const char* name, int64_t v) {
  h5::H5Handle f(H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f, 0);
  H5Adelete(f, name);
  h5::write_attr_i64(f, name, v);
}
void set_attr(const std::string& p, const char* name, const std::string& v) {
  h5::H5Handle f(H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f, 0);
  H5Adelete(f, name);
  h5::write_attr_str(f, name, v);
}

// Replaces dataset `name` of `p` by a chunked one of `dims` that stores nothing: a file of a few KB
// that declares as many elements as it likes.
void replace_with_huge(const std::string& p, const std::string& name, hid_t type,
                       std::vector<hsize_t> dims) {
  h5::H5Handle f(H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f, 0);
  if (H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(f, name.c_str(), H5P_DEFAULT);
  h5::H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  std::vector<hsize_t> chunk(dims.size(), 1);
  H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  h5::H5Handle sp(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  h5::H5Handle d(H5Dcreate2(f, name.c_str(), type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
  ASSERT_GE(d, 0) << name;
}

// Overwrites element `i` of the float dataset `name` (any float type in the file) with `v`.
void poke_f64(const std::string& p, const std::string& name, size_t i, double v) {
  h5::H5Handle f(H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  ASSERT_GE(f, 0);
  h5::H5Handle d(H5Dopen2(f, name.c_str(), H5P_DEFAULT), H5Dclose);
  ASSERT_GE(d, 0) << name;
  h5::H5Handle sp(H5Dget_space(d), H5Sclose);
  std::vector<double> all(static_cast<size_t>(H5Sget_simple_extent_npoints(sp)));
  ASSERT_LT(i, all.size());
  ASSERT_GE(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
  all[i] = v;
  ASSERT_GE(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
}

// configs/tiny.yaml's net, initialized, saved as a run checkpoint with one epoch of metrics.
void save_tiny_checkpoint(const std::string& p) {
  const Config cfg = load_config(kRepo + "/configs/tiny.yaml");
  Net net = build_net(cfg.net);
  net.init_params(3);
  TrainState s;
  s.epoch = 1, s.iteration = 16, s.seed = 7, s.lr = 0.01;
  EpochMetrics m;
  m.epoch = 1, m.lr = 0.01, m.train_loss = 2.0;
  s.metrics.push_back(m);
  s.norm.c = 1, s.norm.h = 28, s.norm.w = 28, s.norm.scale = 1.f;
  s.norm.mean.assign(28 * 28, 0.5f);
  s.norm.inv_std.assign(1, 2.f);
  save_run_checkpoint(p, net, cfg.text, s);
}

std::string load_tiny(const std::string& p) {
  return error_of([&] {
    Net net = build_net(load_config(kRepo + "/configs/tiny.yaml").net);
    load_run_checkpoint(p, net);
  });
}

}  // namespace

// ---- shards ------------------------------------------------------------------------------------

TEST_F(Readers, ValidShardsOpenAndLoad) {
  write_shard(path("raw.h5"), raw_shard(3, 1, 4, 5));
  std::unique_ptr<Dataset> ds = open_hdf5(path("raw.h5"));
  EXPECT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->num_classes(), 3);
  TransformSpec t;
  t.pad = 2;
  const Normalizer norm = make_normalizer(*ds, t);
  Loader::Options o;
  o.batch = 2, o.train = true, o.threads = 1;
  Loader loader(*ds, t, norm, o);
  EXPECT_NE(loader.next(), nullptr);
  EXPECT_EQ(read_shard_summary(path("raw.h5")).count, 3);
}

// With pad 2 a 0x0 image passes the trainer's shape check, and the loader divided by its size.
TEST_F(Readers, ShardWithZeroSizedImagesIsRejectedAtOpen) {
  write_shard(path("h0.h5"), raw_shard(2, 1, 0, 0));
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("h0.h5")); }), path("h0.h5"), "height");
  ShardContents s = raw_shard(2, 1, 3, 3);
  write_shard(path("w0.h5"), s);
  set_attr(path("w0.h5"), "width", 0);
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("w0.h5")); }), path("w0.h5"), "width");
  write_shard(path("c0.h5"), raw_shard(2, 1, 3, 3));
  set_attr(path("c0.h5"), "channels", -1);
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("c0.h5")); }), path("c0.h5"), "channels");
  write_shard(path("big.h5"), raw_shard(2, 1, 3, 3));
  set_attr(path("big.h5"), "height", int64_t{1} << 40);  // was cast to int unchecked
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("big.h5")); }), path("big.h5"), "height");
}

TEST_F(Readers, ShardOffsetsAreValidated) {
  write_shard(path("ok.h5"), jpeg_shard({0, 4, 10}, 10));
  EXPECT_EQ(error_of([&] { open_hdf5(path("ok.h5")); }), "");
  const std::vector<std::vector<int64_t>> bad = {
      {0, 10, 5},                                     // not monotone
      {0, 4, 11},                                     // past the end of /jpeg
      {-3, 4, 10},                                    // negative
      {0, std::numeric_limits<int64_t>::max(), 10},   // hi - lo overflowed
      {std::numeric_limits<int64_t>::min(), 0, 10}};  // and the other way
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string p = path("bad" + std::to_string(i) + ".h5");
    write_shard(p, jpeg_shard(bad[i], 10));
    EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(p); }), p, "offsets");
  }
}

TEST_F(Readers, ShardCountsMustAgree) {
  write_shard(path("count.h5"), raw_shard(3, 1, 2, 2));
  set_attr(path("count.h5"), "count", 5);
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("count.h5")); }), path("count.h5"), "count");
  // /images must be [count, C, H, W] as the attributes say (the reader slices it by them).
  write_shard(path("dims.h5"), raw_shard(3, 1, 2, 2));
  set_attr(path("dims.h5"), "height", 3);
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("dims.h5")); }), path("dims.h5"), "/images");
  write_shard(path("store.h5"), raw_shard(3, 1, 2, 2));
  set_attr(path("store.h5"), "store", std::string("png"));
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("store.h5")); }), path("store.h5"), "store");
}

TEST_F(Readers, ShardLabelAtInt32MaxIsRejected) {
  ShardContents s = raw_shard(2, 1, 2, 2);
  s.labels[1] = std::numeric_limits<int32_t>::max();  // label + 1 overflowed
  write_shard(path("l.h5"), s);
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("l.h5")); }), path("l.h5"), "label");
}

TEST_F(Readers, FailedShardOpenClosesItsFiles) {
  write_shard(path("a.h5"), raw_shard(2, 1, 2, 2));
  set_attr(path("a.h5"), "format", std::string("something-else"));
  const int before = open_files();
  EXPECT_NE(error_of([&] { open_hdf5(path("a.h5")); }), "");
  EXPECT_EQ(open_files(), before);
  // And when a later shard of a prefix fails, the earlier ones are closed too.
  write_shard(path("s-00000.h5"), raw_shard(2, 1, 2, 2));
  write_shard(path("s-00001.h5"), raw_shard(2, 1, 3, 3));
  EXPECT_NE(error_of([&] { open_hdf5(path("s")); }), "");
  EXPECT_EQ(open_files(), before);
}

TEST_F(Readers, HugeDeclaredDatasetsFailBeforeAllocating) {
  // Labels: a shard whose /labels declares 2^40 entries.
  write_shard(path("labels.h5"), raw_shard(2, 1, 2, 2));
  replace_with_huge(path("labels.h5"), "labels", H5T_STD_I32LE, {hsize_t{1} << 40});
  EXPECT_ERROR_NAMES(error_of([&] { open_hdf5(path("labels.h5")); }), path("labels.h5"), "labels");
  // pixel_sum and the skipped list of a shard summary.
  write_shard(path("sum.h5"), raw_shard(2, 1, 2, 2));
  replace_with_huge(path("sum.h5"), "pixel_sum", H5T_IEEE_F64LE,
                    {hsize_t{1} << 20, hsize_t{1} << 20, 1});
  EXPECT_ERROR_NAMES(error_of([&] { read_shard_summary(path("sum.h5")); }), path("sum.h5"),
                     "pixel_sum");
  write_shard(path("skipped.h5"), raw_shard(2, 1, 2, 2));
  {
    h5::H5Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(t, 4096);
    replace_with_huge(path("skipped.h5"), "skipped", t, {hsize_t{1} << 36});
  }
  EXPECT_ERROR_NAMES(error_of([&] { read_shard_summary(path("skipped.h5")); }), path("skipped.h5"),
                     "skipped");
  // A checkpoint's input mean.
  save_tiny_checkpoint(path("mean.h5"));
  replace_with_huge(path("mean.h5"), "data/mean", H5T_IEEE_F32LE,
                    {hsize_t{1} << 16, hsize_t{1} << 16, hsize_t{1} << 16});
  EXPECT_ERROR_NAMES(error_of([&] { read_run_checkpoint(path("mean.h5")); }), path("mean.h5"),
                     "data/mean");
  // A metrics column.
  save_tiny_checkpoint(path("metrics.h5"));
  replace_with_huge(path("metrics.h5"), "metrics/lr", H5T_IEEE_F64LE, {hsize_t{1} << 40});
  EXPECT_ERROR_NAMES(error_of([&] { read_run_checkpoint(path("metrics.h5")); }), path("metrics.h5"),
                     "lr");
}

// ---- checkpoints -------------------------------------------------------------------------------

TEST_F(Readers, ValidCheckpointLoads) {
  save_tiny_checkpoint(path("c.h5"));
  EXPECT_EQ(load_tiny(path("c.h5")), "");
  const RunCheckpoint rc = read_run_checkpoint(path("c.h5"));
  ASSERT_EQ(rc.state.metrics.size(), 1u);
  EXPECT_EQ(rc.state.metrics[0].epoch, 1);
}

TEST_F(Readers, NonFiniteParametersAreRejectedNamingTheLayer) {
  save_tiny_checkpoint(path("nan.h5"));
  poke_f64(path("nan.h5"), "params/conv1/weight", 17, std::nan(""));
  EXPECT_ERROR_NAMES(load_tiny(path("nan.h5")), path("nan.h5"), "conv1/weight");
  save_tiny_checkpoint(path("inf.h5"));
  poke_f64(path("inf.h5"), "params/fc4/bias", 3, -std::numeric_limits<double>::infinity());
  EXPECT_ERROR_NAMES(load_tiny(path("inf.h5")), path("inf.h5"), "fc4/bias");
}

TEST_F(Readers, MetricsEpochColumnIsChecked) {
  for (double bad : {std::nan(""), 1e300, -5.0, 2.5}) {
    SCOPED_TRACE(bad);
    save_tiny_checkpoint(path("m.h5"));
    poke_f64(path("m.h5"), "metrics/epoch", 0, bad);
    EXPECT_ERROR_NAMES(error_of([&] { read_run_checkpoint(path("m.h5")); }), path("m.h5"),
                       "metrics/epoch");
  }
}

TEST_F(Readers, CheckpointHeaderAndNormalizationAreChecked) {
  save_tiny_checkpoint(path("epoch.h5"));
  set_attr(path("epoch.h5"), "epoch", int64_t{1} << 40);  // was cast to int unchecked
  EXPECT_ERROR_NAMES(error_of([&] { read_run_checkpoint(path("epoch.h5")); }), path("epoch.h5"),
                     "epoch");
  // inv_std must have one value per channel of the mean (the loader indexes it by channel).
  save_tiny_checkpoint(path("inv.h5"));
  replace_with_huge(path("inv.h5"), "data/inv_std", H5T_IEEE_F32LE, {0});
  EXPECT_ERROR_NAMES(error_of([&] { read_run_checkpoint(path("inv.h5")); }), path("inv.h5"),
                     "inv_std");
}

// ---- atomic writes -----------------------------------------------------------------------------

TEST_F(Readers, AtomicWriteFsyncsFileThenRenamesThenFsyncsFolder) {
  const std::string p = path("f.h5");
  g_events.clear();
  g_record = true;
  h5::write_file_atomically(p, [](hid_t f) { h5::write_attr_i64(f, "x", 1); });
  g_record = false;
  const std::string dir = fs::canonical(dir_).string();
  const std::vector<std::string> want = {"fsync file " + dir + "/f.h5.tmp",
                                         "rename " + p + ".tmp " + p, "fsync dir " + dir};
  EXPECT_EQ(g_events, want);
  EXPECT_TRUE(fs::exists(p));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}
