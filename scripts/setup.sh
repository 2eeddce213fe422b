#!/usr/bin/env bash
# Installs zfnet's build and runtime dependencies from Debian's packages. Idempotent: packages already
# present are skipped, so a second run costs one dpkg query.
#   scripts/setup.sh            build + test dependencies, Fashion-MNIST, PyTorch and torchvision
#                               (zf_import's tests compare with them; ~20 s more on a fresh machine)
#   scripts/setup.sh --bench    the same (PyTorch is also the CPU reference zf_bench is compared against)
#   scripts/setup.sh --fuzz     also clang with libFuzzer and its OpenMP (scripts/fuzz.sh)
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libhdf5-dev libyaml-cpp-dev libcli11-dev
      libopenblas-openmp-dev libopenblas0-openmp
      libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
      googletest libgtest-dev libbenchmark-dev
      dataset-fashion-mnist python3-h5py python3-numpy python3-matplotlib
      nlohmann-json3-dev python3-skimage
      python3-torch python3-torchvision python3-pil                         # zf_import's tests
      python3-jinja2 python3-yaml chromium chromium-driver python3-selenium   # zf_report + its test
      openmpi-bin libopenmpi-dev)                                           # zf_train under mpirun
for opt in "$@"; do
  case "$opt" in
    --bench) ;;  # PyTorch is in the default list now
    --fuzz) pkgs+=(clang-14 libclang-rt-14-dev libomp-14-dev) ;;
    *) echo "setup: unknown option $opt (--bench, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
