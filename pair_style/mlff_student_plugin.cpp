// Registers pair_style mlff/student with LAMMPS's plugin loader.

#include "lammpsplugin.h"
#include "pair_mlff_student.h"
#include "version.h"

using namespace LAMMPS_NS;

static Pair* create_pair_mlff_student(LAMMPS* lmp) {
  return new PairMLFFStudent(lmp);
}

extern "C" void lammpsplugin_init(void* lmp, void* handle, void* regfunc) {
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc)regfunc;

  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "mlff/student";
  plugin.info = "mlff/student: distilled machine-learned force fields through LibTorch";
  plugin.author = "mlff-student developers";
  plugin.creator.v1 = (lammpsplugin_factory1*)&create_pair_mlff_student;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
