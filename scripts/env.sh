# Shared locations for the project's scripts. Source it; it defines variables only.
#
# Everything downloaded or built outside this repository lives under MLFF_CACHE, so that a
# second run on the same machine reuses it. Override any of these from the environment.
MLFF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MLFF_CACHE=${MLFF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlff-student}
MLFF_VENV=${MLFF_VENV:-$MLFF_CACHE/venv}
MLFF_BUILD=${MLFF_BUILD:-$MLFF_ROOT/build}
# The torch wheel whose LibTorch the plugin is built against (CMakeLists.txt names the tested
# range): one of the tested versions, the newest by default.
MLFF_TORCH_VERSION=${MLFF_TORCH_VERSION:-2.15.0}
# MLFF_PYTHON: a Python that already has torch, numpy and ase (e.g. on an offline GPU node) is
# used as it is; otherwise the set-up makes its own venv.
if [[ -n ${MLFF_PYTHON:-} ]]; then MLFF_OWN_VENV=0; else MLFF_PYTHON=$MLFF_VENV/bin/python; MLFF_OWN_VENV=1; fi

# LAMMPS 4 Jul 2026 as Debian ships it, and the Kokkos release it compiles with.
LAMMPS_VERSION=20260704
LAMMPS_TARBALL=lammps_${LAMMPS_VERSION}+dfsg.orig.tar.gz
LAMMPS_SHA256=cddbc45a047416bd48a4a0b87f24a5b61b3446982b74d18cafe619c22b17eb62
KOKKOS_TARBALL=kokkos_5.0.2.orig.tar.gz
KOKKOS_MD5=96a7e7ede91656fadbc3145481058746

# The Kokkos backend our LAMMPS is built with: openmp (CPU machines), cuda (needs nvcc; the GPU
# architecture is MLFF_KOKKOS_ARCH, a Kokkos_ARCH_* name) or none.
MLFF_KOKKOS=${MLFF_KOKKOS:-openmp}
MLFF_KOKKOS_ARCH=${MLFF_KOKKOS_ARCH:-HOPPER90}
MLFF_LAMMPS_TOP=$MLFF_CACHE/lammps-$LAMMPS_VERSION-kokkos-$MLFF_KOKKOS
# LAMMPS packages besides KOKKOS: PLUGIN loads the style, MOLECULE gives the bonded atom styles
# (atom_style full, bond) of organic systems with topology. A cached build with other packages
# is reconfigured and rebuilt in place (only what changed is compiled).
MLFF_LAMMPS_PACKAGES="PLUGIN MOLECULE"
# MLFF_MLIAP=1 adds ML-IAP and PYTHON (pair_style mliap unified, the interface other ML potentials
# use, which bench/run.sh compares with this style) in a LAMMPS build of its own.
if [[ ${MLFF_MLIAP:-0} == 1 ]]; then
  MLFF_LAMMPS_PACKAGES+=" ML-IAP PYTHON"
  MLFF_LAMMPS_TOP+=-mliap
fi

# A user's own LAMMPS (a build or install tree holding LAMMPSConfig.cmake) replaces ours. The
# Kokkos style is built when MLFF_LAMMPS_BUILD_DIR is a build tree of LAMMPS with KOKKOS.
MLFF_LAMMPS_DIR=${MLFF_LAMMPS_DIR:-$MLFF_LAMMPS_TOP/install}
MLFF_LAMMPS_SOURCE_DIR=${MLFF_LAMMPS_SOURCE_DIR:-$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree/src}
if [[ -z ${MLFF_LAMMPS_BUILD_DIR+x} && $MLFF_LAMMPS_DIR == "$MLFF_LAMMPS_TOP/install" ]]; then
  MLFF_LAMMPS_BUILD_DIR=$MLFF_LAMMPS_TOP/build
fi
MLFF_LAMMPS_BUILD_DIR=${MLFF_LAMMPS_BUILD_DIR:-}

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
