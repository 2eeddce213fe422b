#!/usr/bin/env bash
# Run on the build machine before a GPU lease: puts googletest's sources (Debian's googletest package)
# into .deps/googletest, yaml-cpp's headers and static library into .deps/yaml-cpp, and the rest of
# zf_train's libraries into the prefix .deps/net, so that scripts/gpu_check.sh can build the tests,
# zf_bench (which reads configs/zfnet.yaml) and zf_train (its 1-rank NCCL training) on the GPU
# machine, which has none of Debian's packages. .deps/ is ignored by git; pass carry [".deps"] to the
# device tool.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf .deps/googletest
mkdir -p .deps
cp -r /usr/src/googletest .deps/googletest
echo ".deps/googletest ready ($(du -sh .deps/googletest | cut -f1))"
rm -rf .deps/yaml-cpp
mkdir -p .deps/yaml-cpp/include .deps/yaml-cpp/lib
cp -r /usr/include/yaml-cpp .deps/yaml-cpp/include/
cp /usr/lib/x86_64-linux-gnu/libyaml-cpp.a .deps/yaml-cpp/lib/
echo ".deps/yaml-cpp ready ($(du -sh .deps/yaml-cpp | cut -f1))"

# zf_train's other libraries, Debian's, as one prefix (include/, lib/, share/cmake/) that gpu_check.sh
# names by CMAKE_PREFIX_PATH and HDF5_ROOT: HDF5 (C and C++), CLI11 and nlohmann_json (headers and
# their CMake package files), zlib, libpng, libjpeg-turbo's turbojpeg. Static libraries: the GPU
# machine has none of them, not even to run. A static HDF5 needs szip (libsz over libaec) and zlib;
# its archive also holds the ros3 driver (curl, OpenSSL), which zfnet never calls, so the linker
# never takes it in.
net=.deps/net
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$net"
mkdir -p "$net/include" "$net/lib" "$net/share/cmake"
cp -r /usr/include/hdf5/serial/. "$net/include/"
cp -r /usr/include/CLI /usr/include/nlohmann "$net/include/"
cp /usr/include/{zlib.h,zconf.h,png.h,pngconf.h,pnglibconf.h,turbojpeg.h} "$net/include/"
cp "$lib/libhdf5_serial.a" "$net/lib/libhdf5.a"
cp "$lib/libhdf5_serial_cpp.a" "$net/lib/libhdf5_cpp.a"
cp "$lib"/{libsz.a,libaec.a,libz.a,libpng16.a,libturbojpeg.a} "$net/lib/"
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$net/share/cmake/"
echo "$net ready ($(du -sh "$net" | cut -f1))"
