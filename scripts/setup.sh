#!/usr/bin/env bash
# Installs what the build needs, builds LAMMPS (cached outside the repository) and the plugin.
# Safe to re-run: every step checks whether its result is already there.
#
# Environment overrides (see README "Building against your own LAMMPS / LibTorch"):
#   MLFF_LAMMPS_DIR  a LAMMPS build or install tree with LAMMPSConfig.cmake; skips our LAMMPS build
#   MLFF_LAMMPS_SOURCE_DIR, MLFF_LAMMPS_BUILD_DIR  its src/ directory, and its build tree when it
#                    has KOKKOS (then pair_style mlff/student/kk is built too)
#   MLFF_KOKKOS      the Kokkos backend of our LAMMPS build: openmp (default), cuda or none;
#                    MLFF_KOKKOS_ARCH the GPU for cuda (a Kokkos_ARCH_* name, default HOPPER90)
#   MLFF_TORCH_DIR   a LibTorch prefix (holding share/cmake/Torch); default: the venv's torch wheel
#   MLFF_CACHE       where downloads and the LAMMPS build are kept (default ~/.cache/mlff-student)
#   MLFF_SOURCES     a directory made by scripts/prefetch_sources.sh (offline nodes): LAMMPS and
#                    Kokkos sources are taken from it instead of the Debian archive
#   MLFF_SKIP_APT=1  do not call apt-get (the packages are already there)
#   MLFF_PYTHON      a Python with torch, numpy and ase to use instead of our own venv
#   MLFF_MLIAP=1     also LAMMPS's ML-IAP and PYTHON packages (pair_style mliap unified), in a
#                    LAMMPS build of its own (Cython comes into the venv for it)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[setup] %s\n' "$*"; }
mkdir -p "$MLFF_CACHE/downloads"

install_apt_packages() {
  local pkgs=(g++ cmake ninja-build openmpi-bin libopenmpi-dev libgtest-dev libgmock-dev googletest libyaml-dev xz-utils curl clang-format)
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]} == 0)) || [[ ${MLFF_SKIP_APT:-0} == 1 ]]; then return; fi
  log "apt: installing ${missing[*]}"
  local sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_venv() {
  [[ $MLFF_OWN_VENV == 1 ]] || return 0
  local want="torch==$MLFF_TORCH_VERSION numpy ase onnx pytest tblite==0.8.0 sphinx setuptools>=70.1 ruff==0.17.6"
  [[ ${MLFF_MLIAP:-0} == 1 ]] && want+=" cython>=3.0"
  local stamp=$MLFF_VENV/.mlff-requirements
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    log "python: creating $MLFF_VENV ($want; about 1 GB to download the first time)"
    python3 -m venv "$MLFF_VENV"
    "$MLFF_VENV/bin/pip" install -q $want
    echo "$want" >"$stamp"
  fi
  # ML-IAP's Kokkos coupling hands Python models CuPy views of LAMMPS's device arrays: a CUDA
  # build needs the CuPy of torch's CUDA major version.
  if [[ ${MLFF_MLIAP:-0} == 1 && $MLFF_KOKKOS == cuda ]] && ! "$MLFF_VENV/bin/python" -c 'import cupy' 2>/dev/null; then
    local cuda_major
    cuda_major=$("$MLFF_VENV/bin/python" -c 'import torch; print((torch.version.cuda or "").split(".")[0])')
    [[ -n $cuda_major ]] || { echo "MLFF_MLIAP=1 with MLFF_KOKKOS=cuda needs a CUDA build of torch" >&2; exit 1; }
    log "python: installing cupy-cuda${cuda_major}x for ML-IAP's Kokkos GPU coupling"
    "$MLFF_VENV/bin/pip" install -q "cupy-cuda${cuda_major}x"
  fi
  # The project's own package, editable, so that mlff-student and import mlff_student follow this
  # checkout (tests put the checkout's python/ first on PYTHONPATH in any case).
  local package_stamp=$MLFF_VENV/.mlff-package
  local package="$MLFF_ROOT/python $(sha256sum "$MLFF_ROOT/python/pyproject.toml" | cut -c1-16)"
  if [[ ! -f $package_stamp || $(cat "$package_stamp") != "$package" ]]; then
    log "python: installing the mlff-student package from $MLFF_ROOT/python"
    "$MLFF_VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$MLFF_ROOT/python"
    echo "$package" >"$package_stamp"
  fi
}

# The Debian archive this machine already uses (never a host name written into the project).
debian_mirror() {
  local uri
  uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [[ -n $uri ]] || uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [[ -n $uri ]] || { echo "no Debian archive found in the apt configuration" >&2; return 1; }
  echo "${uri%/}"
}

verify() { # file algorithm expected
  local got
  got=$("$2sum" "$1" | awk '{print $1}')
  [[ $got == "$3" ]] || { echo "checksum mismatch for $1: $got != $3" >&2; return 1; }
}

# Downloads a file of a Debian source package from the pool of the machine's own archive.
fetch_debian_source() { # package-dir file algorithm checksum
  local dst=$MLFF_CACHE/downloads/$2
  if [[ -f $dst ]] && verify "$dst" "$3" "$4"; then return; fi
  log "fetching $2 (Debian source package)"
  curl -fsSL --retry 3 -o "$dst.part" "$(debian_mirror)/pool/main/$1/$2"
  verify "$dst.part" "$3" "$4"
  mv "$dst.part" "$dst"
}

# Unpacks the parts of the LAMMPS source a plugin build needs, with Kokkos in lib/kokkos: from an
# offline source directory's trimmed tree, or from the Debian tarballs.
unpack_lammps_source() {
  local src=$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree
  [[ -f $src/.unpacked ]] && return
  log "unpacking LAMMPS into $src"
  rm -rf "$src" && mkdir -p "$src"
  if [[ -n ${MLFF_SOURCES:-} ]]; then
    (cd "$MLFF_SOURCES" && sha256sum -c --quiet lammps-src.tar.xz.sha256)
    tar xJf "$MLFF_SOURCES/lammps-src.tar.xz" -C "$src" --strip-components=1
  else
    mkdir -p "$src/lib/kokkos"
    # The Debian tarball has no top-level directory.
    tar xzf "$MLFF_CACHE/downloads/$LAMMPS_TARBALL" -C "$src" --wildcards 'cmake/*' 'src/*' 'third_party/*' 'python/*' 'doc/lammps.1'
    tar xzf "$MLFF_CACHE/downloads/$KOKKOS_TARBALL" -C "$src/lib/kokkos" --strip-components=1
  fi
  mkdir -p "$src/bench" "$src/potentials"
  touch "$src/.unpacked"
}

# What our LAMMPS build holds: its stamp, written when the build is installed.
lammps_stamp() { echo "packages: $MLFF_LAMMPS_PACKAGES; kokkos: $MLFF_KOKKOS"; }
lammps_built() { [[ -f $MLFF_LAMMPS_TOP/install/.built && $(cat "$MLFF_LAMMPS_TOP/install/.built") == "$(lammps_stamp)" ]]; }

# Ninja's [done/total] lines, shown every tenth of the way.
build_progress() {
  awk -v start="$(date +%s)" '/^\[[0-9]+\/[0-9]+\]/ {
    split(substr($1, 2), n, "/")
    if (n[2] + 0 < 10) next  # a step with its own tiny count (Cython, a regeneration), not the build
    p = int(100 * n[1] / n[2])
    if (p >= shown + 10) { shown = p - p % 10
      "date +%s" | getline now; close("date +%s")
      printf "[setup]   %3d %% (%d of %d files, %d min)\n", p, n[1], n[2], (now - start) / 60; fflush() }
  }'
}

# The CMake options of our LAMMPS build (scripts/test_in_tree.sh builds with them too), into
# the array lammps_options; $1: the LAMMPS source tree.
set_lammps_options() {
  local src=$1 kokkos=() packages=()
  for pkg in $MLFF_LAMMPS_PACKAGES; do packages+=("-DPKG_$pkg=ON"); done
  case $MLFF_KOKKOS in
    openmp) kokkos=(-DPKG_KOKKOS=ON -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_SERIAL=ON -DBUILD_OMP=ON) ;;
    cuda) kokkos=(-DPKG_KOKKOS=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_SERIAL=ON
      "-DKokkos_ARCH_$MLFF_KOKKOS_ARCH=ON" "-DCMAKE_CXX_COMPILER=$src/lib/kokkos/bin/nvcc_wrapper") ;;
    none) kokkos=(-DPKG_KOKKOS=OFF -DBUILD_OMP=OFF) ;;
    *) echo "MLFF_KOKKOS must be openmp, cuda or none, not '$MLFF_KOKKOS'" >&2; exit 1 ;;
  esac
  # ML-IAP's Python models (unified) are compiled with Cython against the venv's Python.
  if [[ " $MLFF_LAMMPS_PACKAGES " == *" ML-IAP "* ]]; then
    packages+=(-DMLIAP_ENABLE_PYTHON=ON "-DPython_EXECUTABLE=$(command -v "$MLFF_PYTHON")")
  fi
  lammps_options=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DBUILD_MPI=ON
    "${packages[@]}" -DBUILD_TOOLS=OFF -DWITH_JPEG=OFF -DWITH_PNG=OFF -DWITH_FFMPEG=OFF
    -DWITH_CURL=OFF -DDOWNLOAD_POTENTIALS=OFF "${kokkos[@]}")
}

build_lammps() {
  local top=$MLFF_LAMMPS_TOP src=$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree
  lammps_built && return
  set_lammps_options "$src"
  # About 45 CPU-minutes (23 minutes on 2 cores, measured); the build's progress is shown.
  log "building LAMMPS (shared library, MPI, $MLFF_LAMMPS_PACKAGES, KOKKOS: $MLFF_KOKKOS) into $top/install:" \
    "usually about $(( (45 + $(nproc) - 1) / $(nproc) )) minutes on the $(nproc) cores here"
  cmake -S "$src/cmake" -B "$top/build" "${lammps_options[@]}" \
    -DCMAKE_INSTALL_PREFIX="$top/install" -DCMAKE_INSTALL_RPATH="$top/install/lib" >"$top.configure.log"
  if ! cmake --build "$top/build" --parallel "$(nproc)" 2>&1 | tee "$top.build.log" | build_progress; then
    tail -40 "$top.build.log"
    exit 1
  fi
  cmake --install "$top/build" >/dev/null
  lammps_stamp >"$top/install/.built"
}

# LAMMPS's own Python module (lammps.lammps; ASE's LAMMPSlib drives LAMMPS through it), from the
# same source, installed into the venv and bound to the LAMMPS built here: its liblammps.so is
# linked into the package, where the module looks first.
install_lammps_python() {
  [[ $MLFF_OWN_VENV == 1 && $MLFF_LAMMPS_DIR == "$MLFF_LAMMPS_TOP/install" ]] || return 0
  local src=$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree stamp=$MLFF_VENV/.mlff-lammps-python
  [[ -f $stamp && $(cat "$stamp") == "$MLFF_LAMMPS_TOP" ]] && return
  if [[ ! -f $src/python/setup.py ]]; then  # a source tree unpacked before the module was wanted
    if [[ -n ${MLFF_SOURCES:-} ]]; then
      tar xJf "$MLFF_SOURCES/lammps-src.tar.xz" -C "$src" --strip-components=1 lammps/python
    else
      tar xzf "$MLFF_CACHE/downloads/$LAMMPS_TARBALL" -C "$src" --wildcards 'python/*'
    fi
  fi
  log "python: installing LAMMPS's lammps module, bound to $MLFF_LAMMPS_TOP/install/lib/liblammps.so"
  (cd "$src/python" && LAMMPS_VERSION_FILE="$src/src/version.h" \
    "$MLFF_VENV/bin/pip" install -q --no-deps --no-build-isolation .)
  local package
  package=$("$MLFF_VENV/bin/python" -c 'import os, lammps; print(os.path.dirname(lammps.__file__))')
  ln -sf "$MLFF_LAMMPS_TOP/install/lib/liblammps.so" "$package/liblammps.so"
  echo "$MLFF_LAMMPS_TOP" >"$stamp"
}

torch_prefix() {
  if [[ -n ${MLFF_TORCH_DIR:-} ]]; then echo "$MLFF_TORCH_DIR"; return; fi
  "$MLFF_PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)'
}

build_plugin() {
  log "building the plugin in $MLFF_BUILD"
  local lammps_cfg=$MLFF_LAMMPS_DIR
  [[ -f $lammps_cfg/LAMMPSConfig.cmake ]] || lammps_cfg=$(dirname "$(find "$MLFF_LAMMPS_DIR" -name LAMMPSConfig.cmake | head -1)")
  cmake -S "$MLFF_ROOT" -B "$MLFF_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLAMMPS_DIR="$lammps_cfg" -DLAMMPS_SOURCE_DIR="$MLFF_LAMMPS_SOURCE_DIR" -DLAMMPS_BUILD_DIR="$MLFF_LAMMPS_BUILD_DIR" \
    -DCMAKE_PREFIX_PATH="$(torch_prefix)" \
    -DPython3_EXECUTABLE="$(command -v "$MLFF_PYTHON")" >"$MLFF_BUILD.configure.log" 2>&1 ||
    { cat "$MLFF_BUILD.configure.log"; exit 1; }
  cmake --build "$MLFF_BUILD" --parallel "$(nproc)"
}

[[ ${MLFF_SETUP_FUNCTIONS_ONLY:-0} == 1 ]] && return 0
install_apt_packages
setup_venv
if [[ $MLFF_LAMMPS_DIR == "$MLFF_LAMMPS_TOP/install" ]] && ! lammps_built; then
  if [[ -z ${MLFF_SOURCES:-} ]]; then
    fetch_debian_source l/lammps "$LAMMPS_TARBALL" sha256 "$LAMMPS_SHA256"
    fetch_debian_source k/kokkos "$KOKKOS_TARBALL" md5 "$KOKKOS_MD5"
  fi
  unpack_lammps_source
  build_lammps
fi
install_lammps_python
build_plugin
log "done: plugin in $MLFF_BUILD"
