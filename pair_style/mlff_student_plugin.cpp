// Registers pair_style mlff/student (and, in builds against a LAMMPS with KOKKOS,
// mlff/student/kk, which -sf kk also finds) with LAMMPS's plugin loader.

#include "lammpsplugin.h"
#include "pair_mlff_student.h"
#include "version.h"

using namespace LAMMPS_NS;

#ifdef MLFF_KOKKOS
// In pair_mlff_student_kokkos.cpp, the one file compiled with Kokkos (by nvcc for CUDA).
namespace LAMMPS_NS {
Pair* create_pair_mlff_student_kokkos_device(LAMMPS* lmp);
Pair* create_pair_mlff_student_kokkos_host(LAMMPS* lmp);
}  // namespace LAMMPS_NS
#endif

namespace {

template <class Style>
Pair* create(LAMMPS* lmp) {
  return new Style(lmp);
}

void add_pair_style(void* lmp, void* handle, void* regfunc, const char* name,
                    lammpsplugin_factory1* factory) {
  lammpsplugin_t plugin;
  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = name;
  plugin.info = "mlff/student: distilled machine-learned force fields through LibTorch";
  plugin.author = "mlff-student developers";
  plugin.creator.v1 = factory;
  plugin.handle = handle;
  (*(lammpsplugin_regfunc)regfunc)(&plugin, lmp);
}

}  // namespace

extern "C" void lammpsplugin_init(void* lmp, void* handle, void* regfunc) {
  add_pair_style(lmp, handle, regfunc, "mlff/student",
                 (lammpsplugin_factory1*)&create<PairMLFFStudent>);
#ifdef MLFF_KOKKOS
  auto* device = (lammpsplugin_factory1*)&create_pair_mlff_student_kokkos_device;
  add_pair_style(lmp, handle, regfunc, "mlff/student/kk", device);
  add_pair_style(lmp, handle, regfunc, "mlff/student/kk/device", device);
  add_pair_style(lmp, handle, regfunc, "mlff/student/kk/host",
                 (lammpsplugin_factory1*)&create_pair_mlff_student_kokkos_host);
#endif
}
