#!/usr/bin/env bash
# Makes a source directory for machines without internet: scripts/prefetch_sources.sh DIR
# DIR gets lammps-src.tar.xz, the part of Debian's LAMMPS 4 Jul 2026 source that the build needs
# (core, KOKKOS, PLUGIN, MOLECULE, STUBS, third_party, the Python module, the sources of the
# pair-style harness in unittest/) with Kokkos 5.0.2 in
# lib/kokkos, and its checksum.
# On the offline machine: MLFF_SOURCES=DIR scripts/setup.sh (with MLFF_PYTHON and MLFF_TORCH_DIR
# or a torch-carrying Python, as no venv can be made there).
set -euo pipefail
out=$(mkdir -p "$1" && cd "$1" && pwd)
MLFF_SETUP_FUNCTIONS_ONLY=1 source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
unset MLFF_SOURCES
fetch_debian_source l/lammps "$LAMMPS_TARBALL" sha256 "$LAMMPS_SHA256"
fetch_debian_source k/kokkos "$KOKKOS_TARBALL" md5 "$KOKKOS_MD5"
unpack_lammps_source
tree=$MLFF_CACHE/lammps-$LAMMPS_VERSION/src-tree
# A tree unpacked before the Python module was part of it.
[[ -d $tree/python ]] || tar xzf "$MLFF_CACHE/downloads/$LAMMPS_TARBALL" -C "$tree" --wildcards 'python/*'
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lammps/src" "$stage/lammps/doc"
cp -r "$tree/cmake" "$tree/third_party" "$tree/lib" "$tree/python" "$stage/lammps/"
cp "$tree/doc/lammps.1" "$stage/lammps/doc/"
find "$tree/src" -maxdepth 1 -type f -exec cp {} "$stage/lammps/src/" \;
for pkg in KOKKOS $MLFF_LAMMPS_PACKAGES STUBS fmt nlohmann; do cp -r "$tree/src/$pkg" "$stage/lammps/src/"; done
# The pair-style harness's sources (scripts/pair_style_harness.sh).
tar xzf "$MLFF_CACHE/downloads/$LAMMPS_TARBALL" -C "$stage/lammps" --wildcards 'unittest/*.h' 'unittest/*.cpp'
tar cJf "$out/lammps-src.tar.xz" -C "$stage" lammps
(cd "$out" && sha256sum lammps-src.tar.xz >lammps-src.tar.xz.sha256)
log "wrote $out/lammps-src.tar.xz ($(du -h "$out/lammps-src.tar.xz" | cut -f1))"
