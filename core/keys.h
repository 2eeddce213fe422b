// The one key validator of the configs: every map of a config (its sections, each layer) is checked
// with it, so an unknown or misspelt key is always reported the same way, as unknown, with the
// closest known key: "fashion.yaml: layers[3].kernal: unknown key (did you mean 'kernel'?)".
#pragma once

#include <string>
#include <vector>

namespace zf {

// The known key closest to `key` by edit distance when it is a plausible misspelling (at most 2
// edits, and fewer than half the key's length); "" otherwise.
std::string closest_key(const std::string& key, const std::vector<std::string>& known);
// `path` joined with `key`: "f.yaml: train" + "lr" -> "f.yaml: train.lr"; "f.yaml:" + "x" ->
// "f.yaml: x".
std::string key_path(const std::string& path, const std::string& key);
// Throws zf::Error for the first of `present` that is not in `known`, naming its path and the
// closest known key.
void check_keys(const std::string& path, const std::vector<std::string>& present,
                const std::vector<std::string>& known);
[[noreturn]] void unknown_key(const std::string& path, const std::string& key,
                              const std::vector<std::string>& known);

}  // namespace zf
