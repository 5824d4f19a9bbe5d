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
# the copies and the block of lines added to LAMMPS's cmake/CMakeLists.txt.
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

begin="# mlff-student: pair_style mlff/student"
end="# mlff-student: end"
# An earlier block (from an older checkout) is replaced, so that running this again updates it.
sed -i "\\|^$begin|,\\|^$end|d" "$lammps/cmake/CMakeLists.txt"
cat >>"$lammps/cmake/CMakeLists.txt" <<CMAKE
$begin (added by $root/scripts/install_in_tree.sh)
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
# Only the link is passed on to LAMMPS, not LibTorch's include paths and flags: the rest of LAMMPS
# compiles exactly as before, so adding the style to an existing build recompiles only the
# adapters and the files that include LAMMPS's list of pair styles, which includes their headers:
# these see the core's LibTorch-free headers.
add_library(mlff_student_link INTERFACE)
set_property(TARGET mlff_student_link PROPERTY INTERFACE_LINK_LIBRARIES "\$<LINK_ONLY:mlff_student_core>")
target_link_libraries(lammps PRIVATE mlff_student_link)
set(_mlff_sources "\${LAMMPS_SOURCE_DIR}/pair_mlff_student.cpp"
  "\${LAMMPS_SOURCE_DIR}/KOKKOS/pair_mlff_student_kokkos.cpp")
file(GLOB _mlff_lammps_sources "\${LAMMPS_SOURCE_DIR}/*.cpp")
foreach(_mlff_file IN LISTS _mlff_lammps_sources)
  file(STRINGS "\${_mlff_file}" _mlff_includes REGEX "#include \"style_pair.h\"")
  if(_mlff_includes)
    list(APPEND _mlff_sources "\${_mlff_file}")
  endif()
endforeach()
set_property(SOURCE \${_mlff_sources} APPEND PROPERTY INCLUDE_DIRECTORIES "$root/src")
set_property(SOURCE \${_mlff_sources} APPEND PROPERTY COMPILE_DEFINITIONS
  "MLFF_STUDENT_VERSION=\"\$<TARGET_PROPERTY:mlff_student_core,VERSION>\"")
$end
CMAKE
echo "mlff/student is in $lammps: configure LAMMPS with LibTorch on CMAKE_PREFIX_PATH and build it"
