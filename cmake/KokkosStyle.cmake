# pair_style mlff/student/kk, built into the plugin when LAMMPS_BUILD_DIR is the build tree of a
# LAMMPS with the KOKKOS package. A LAMMPS install exports neither Kokkos's headers nor the
# definitions its Kokkos styles were compiled with, so both come from the source and build trees,
# and the style is compiled as LAMMPS compiled its own: C++20, and CUDA for a CUDA backend. Only
# that file sees Kokkos; LibTorch stays in the core, compiled by the host compiler.
set(LAMMPS_BUILD_DIR "" CACHE PATH
  "The build tree of LAMMPS_DIR: with KOKKOS in it, mlff/student/kk is built")
set(MLFF_KOKKOS OFF)
if(LAMMPS_BUILD_DIR AND EXISTS "${LAMMPS_BUILD_DIR}/CMakeCache.txt")
  load_cache("${LAMMPS_BUILD_DIR}" READ_WITH_PREFIX LMP_
    PKG_KOKKOS KOKKOS_PREC KOKKOS_LAYOUT LAMMPS_SIZES Kokkos_ENABLE_CUDA)
  if(LMP_PKG_KOKKOS)
    set(MLFF_KOKKOS ON)
  endif()
endif()
if(NOT MLFF_KOKKOS)
  message(STATUS "mlff/student/kk: not built (LAMMPS_BUILD_DIR is not a LAMMPS build with KOKKOS)")
  return()
endif()
string(TOLOWER "${LMP_KOKKOS_PREC}" LMP_KOKKOS_PREC)  # LAMMPS takes these in any case
string(TOLOWER "${LMP_KOKKOS_LAYOUT}" LMP_KOKKOS_LAYOUT)
if(NOT LMP_KOKKOS_PREC STREQUAL "double" OR NOT LMP_KOKKOS_LAYOUT STREQUAL "legacy")
  message(FATAL_ERROR "mlff/student/kk needs LAMMPS built with KOKKOS_PREC=double and "
    "KOKKOS_LAYOUT=legacy (found ${LMP_KOKKOS_PREC}, ${LMP_KOKKOS_LAYOUT})")
endif()

get_filename_component(_kokkos_src "${LAMMPS_SOURCE_DIR}/../lib/kokkos" ABSOLUTE)
set(_kokkos_build "${LAMMPS_BUILD_DIR}/lib/kokkos")
if(NOT EXISTS "${_kokkos_build}/KokkosCore_config.h" OR NOT EXISTS "${_kokkos_src}/core/src")
  message(FATAL_ERROR "mlff/student/kk needs LAMMPS's bundled Kokkos: ${_kokkos_src} (sources) "
    "and ${_kokkos_build}/KokkosCore_config.h")
endif()
file(STRINGS "${_kokkos_build}/KokkosCore_config.h" _backends
  REGEX "^#define KOKKOS_ENABLE_(CUDA|HIP|SYCL|OPENMP)$")
if(_backends MATCHES "HIP|SYCL")
  message(FATAL_ERROR "mlff/student/kk supports Kokkos's CUDA, OpenMP and Serial backends, "
    "not HIP or SYCL (${_backends})")
endif()
set(_kokkos_style pair_style/pair_mlff_student_kokkos.cpp)
target_sources(mlffstudentplugin PRIVATE ${_kokkos_style})
target_include_directories(mlffstudentplugin PRIVATE ${LAMMPS_SOURCE_DIR}/KOKKOS
  ${LAMMPS_BUILD_DIR}/styles ${_kokkos_build})
foreach(_part core containers algorithms simd)
  target_include_directories(mlffstudentplugin PRIVATE ${_kokkos_src}/${_part}/src
    ${_kokkos_build}/${_part}/src)
endforeach()
target_include_directories(mlffstudentplugin SYSTEM PRIVATE ${_kokkos_src}/tpls/desul/include
  ${_kokkos_src}/tpls/mdspan/include)
string(TOUPPER "LAMMPS_${LMP_LAMMPS_SIZES}" _sizes)
target_compile_definitions(mlffstudentplugin PRIVATE MLFF_KOKKOS LMP_KOKKOS
  LMP_KOKKOS_DOUBLE_DOUBLE LMP_KOKKOS_LAYOUT_LEGACY ${_sizes})
set_target_properties(mlffstudentplugin PROPERTIES CXX_STANDARD 20)

if(LMP_Kokkos_ENABLE_CUDA)
  # The GPU Kokkos was built for, e.g. "#define KOKKOS_ARCH_HOPPER90" -> sm_90.
  file(STRINGS "${_kokkos_build}/KokkosCore_config.h" _arch REGEX "^#define KOKKOS_ARCH_[A-Z_]+[0-9]+$")
  list(FILTER _arch INCLUDE REGEX "(KEPLER|MAXWELL|PASCAL|VOLTA|TURING|AMPERE|ADA|HOPPER|BLACKWELL)[0-9]+$")
  string(REGEX MATCH "[0-9]+$" _sm "${_arch}")
  if(NOT _sm)
    message(FATAL_ERROR "mlff/student/kk: no NVIDIA architecture in ${_kokkos_build}/KokkosCore_config.h")
  endif()
  enable_language(CUDA)
  set_source_files_properties(${_kokkos_style} PROPERTIES LANGUAGE CUDA)
  set_target_properties(mlffstudentplugin PROPERTIES CUDA_STANDARD 20 CUDA_ARCHITECTURES ${_sm})
  target_compile_options(mlffstudentplugin PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda --expt-relaxed-constexpr
      -Xcudafe=--diag_suppress=unrecognized_pragma,--diag_suppress=128,--diag_suppress=186>)
  if(_backends MATCHES "OPENMP")  # CUDA with OpenMP as the host backend
    target_compile_options(mlffstudentplugin PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
  endif()
  message(STATUS "mlff/student/kk: built for Kokkos CUDA, sm_${_sm}")
else()
  message(STATUS "mlff/student/kk: built for Kokkos on the host")
endif()
if(_backends MATCHES "OPENMP")
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  target_link_libraries(mlffstudentplugin PRIVATE OpenMP::OpenMP_CXX)
endif()
