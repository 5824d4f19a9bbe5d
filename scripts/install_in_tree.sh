#!/usr/bin/env bash
# Puts pair_style mlff/student (and mlff/student/kk) into a LAMMPS source tree, so that LAMMPS's
# own CMake build compiles them into LAMMPS, the Kokkos style with exactly LAMMPS's flags:
#
#   scripts/install_in_tree.sh /path/to/lammps
#   cmake -S /path/to/lammps/cmake -B build -DPKG_KOKKOS=ON ... \
#         -DCMAKE_PREFIX_PATH="$(python -c 'import torch; print(torch.utils.cmake_prefix_path)')"
#   cmake --build build
#
# The adapters go into src/ and src/KOKKOS/; the core (src/ of this repository) stays here and is
# built by LAMMPS's CMake as a library that LAMMPS links, with LibTorch. Running it again updates
# the copies; the lines added to LAMMPS's cmake/CMakeLists.txt are added once.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lammps=$(cd "${1:?usage: $0 LAMMPS_SOURCE_DIR}" && pwd)
[[ -f $lammps/cmake/CMakeLists.txt && -d $lammps/src ]] ||
  { echo "$lammps is not a LAMMPS source tree (no cmake/CMakeLists.txt, src/)" >&2; exit 1; }

cp "$root/pair_style/pair_mlff_student.h" "$root/pair_style/pair_mlff_student.cpp" "$lammps/src/"
if [[ -d $lammps/src/KOKKOS ]]; then
  cp "$root/pair_style/pair_mlff_student_kokkos.h" "$root/pair_style/pair_mlff_student_kokkos.cpp" \
    "$lammps/src/KOKKOS/"
fi

marker="# mlff-student: pair_style mlff/student"
if ! grep -qF "$marker" "$lammps/cmake/CMakeLists.txt"; then
  cat >>"$lammps/cmake/CMakeLists.txt" <<CMAKE

$marker (added by $root/scripts/install_in_tree.sh)
# LibTorch's targets are found here, so that LAMMPS's target can link them too. LibTorch's CMake
# would look for MKL with LAMMPS's FindMKL and give its target a NOTFOUND include path; nothing
# here includes MKL (the wheel's libraries carry what they use), so its target is left empty.
if(NOT TARGET caffe2::mkl)
  add_library(caffe2::mkl INTERFACE IMPORTED)
endif()
# No CUDA code of ours is compiled: LibTorch need not probe the GPUs, which it would do with the
# C++ standard LAMMPS asks for (C++20 with Kokkos), beyond what some CMake knows for nvcc.
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST Common)
endif()
find_package(Torch REQUIRED)
set(MLFF_BUILD_PLUGIN OFF CACHE BOOL "" FORCE)
set(MLFF_BUILD_TESTS OFF CACHE BOOL "" FORCE)
add_subdirectory("$root" "\${CMAKE_BINARY_DIR}/mlff_student" EXCLUDE_FROM_ALL)
target_link_libraries(lammps PRIVATE mlff_student_core)
CMAKE
fi
echo "mlff/student is in $lammps: configure LAMMPS with LibTorch on CMAKE_PREFIX_PATH and build it"
