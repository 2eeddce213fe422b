// What the libFuzzer targets under tests/fuzz/ share: a scratch folder for readers that take paths,
// the small net the checkpoint target loads into (also written into its seed corpus by
// make_corpus.cpp), and the rule that a reader may refuse an input only with a zf::Error: any other
// exception escapes, and libFuzzer reports it as a crash.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/check.h"

namespace zf::fuzz {

// One folder per fuzzing process (libFuzzer's -jobs/-fork run several), removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    // In memory where possible: every run writes its input, and a disk-backed /tmp makes that the
    // slowest part of a run.
    char tmpl[] = "/dev/shm/zf_fuzz_XXXXXX";
    if (access("/dev/shm", W_OK) != 0)
      std::memcpy(tmpl, "/tmp/zf_fuzz_XXXXXX", sizeof "/tmp/zf_fuzz_XXXXXX");
    const char* d = mkdtemp(tmpl);
    if (!d) std::abort();
    std::string s = d;
    static std::string to_remove = s;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    return s;
  }();
  return dir;
}

// Writes the bytes to scratch_dir()/name and returns the path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string p = scratch_dir() + "/" + name;
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  f.close();
  if (!f) std::abort();  // the scratch folder must work, else every run tests nothing
  return p;
}

// Runs `f`; a zf::Error is the reader's refusal (fine), anything else propagates.
template <class F>
void refusal_ok(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// The checkpoint target's net: every parameterised layer kind, a few hundred parameters, so that
// its seed checkpoint stays a few KB.
constexpr const char* kMicroConfig = R"(# The fuzz targets' micro net.
name: micro
input: {channels: 1, height: 6, width: 6}
data:
  format: idx
  train: /nonexistent/train
  val: /nonexistent/t10k
  normalize: channel_standardize
train:
  batch: 2
  epochs: 1
layers:
  - {name: conv1, type: conv, filters: 2, kernel: 3, pad: 1, std: 0.1}
  - {name: relu1, type: relu}
  - {name: pool1, type: maxpool, kernel: 2, stride: 2}
  - {name: norm1, type: lrn, size: 3}
  - {name: fc2, type: fc, outputs: 3, std: 0.1}
  - {name: loss, type: softmax_loss}
)";

}  // namespace zf::fuzz
