/* pair_style mlff/student/kk: the same model with LAMMPS's KOKKOS package. Positions, the
   neighbor list, edges, gradients and forces stay in the Kokkos memory space (on several ranks
   with newton off the ghost rows are summed through the host); the graph building, model and
   force scatter are the core's (ResidentStep), run on the Kokkos stream. */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(mlff/student/kk,PairMLFFStudentKokkos<LMPDeviceType>);
PairStyle(mlff/student/kk/device,PairMLFFStudentKokkos<LMPDeviceType>);
PairStyle(mlff/student/kk/host,PairMLFFStudentKokkos<LMPHostType>);
// clang-format on
#else

#ifndef LMP_PAIR_MLFF_STUDENT_KOKKOS_H
#define LMP_PAIR_MLFF_STUDENT_KOKKOS_H

#include <memory>

#include "kokkos_type.h"
#include "pair_kokkos.h"
#include "pair_mlff_student.h"
#include "resident_step.h"

namespace LAMMPS_NS {

template <class DeviceType>
class PairMLFFStudentKokkos : public PairMLFFStudent {
 public:
  PairMLFFStudentKokkos(class LAMMPS*);
  ~PairMLFFStudentKokkos() override;

  void compute(int, int) override;
  void init_style() override;

 protected:
  void settle_options() override;
  void model_loaded() override;
  void release_step() override;

 private:
  void reallocate_per_atom_arrays();
  void per_atom_arrays_to_host();
  mlff::ResidentArrays kokkos_arrays();

  // Whether DeviceType's memory is a GPU's, where the model must run with device cuda.
  static constexpr bool on_gpu =
      !Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename DeviceType::memory_space>::accessible;

  std::unique_ptr<mlff::ResidentStep> device_step;
  DAT::ttransform_kkacc_1d k_eatom;
  DAT::ttransform_kkacc_1d_6 k_vatom;
  DAT::ttransform_kkacc_1d_9 k_cvatom;
};

}  // namespace LAMMPS_NS

#endif
#endif
