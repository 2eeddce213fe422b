// The config key validator (see keys.h).
#include "core/keys.h"

#include <algorithm>

#include "core/check.h"

namespace zf {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string closest_key(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;
  for (const std::string& k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_d && 2 * d < std::max(key.size(), k.size())) best = k, best_d = d;
  }
  return best;
}

std::string key_path(const std::string& path, const std::string& key) {
  if (path.empty()) return key;
  return path + (path.back() == ':' ? " " : ".") + key;
}

void unknown_key(const std::string& path, const std::string& key,
                 const std::vector<std::string>& known) {
  const std::string near = closest_key(key, known);
  throw Error(key_path(path, key) + ": unknown key" +
              (near.empty() ? "" : " (did you mean '" + near + "'?)"));
}

void check_keys(const std::string& path, const std::vector<std::string>& present,
                const std::vector<std::string>& known) {
  for (const std::string& k : present)
    if (std::find(known.begin(), known.end(), k) == known.end()) unknown_key(path, k, known);
}

}  // namespace zf
