/* pair_style mlff/student/kk: the same model with LAMMPS's KOKKOS package. Positions, the
   neighbor list, edges, gradients and forces stay in the Kokkos memory space (on several ranks
   with newton off the ghost rows are summed through the host); the graph building, model and
   force scatter are the core's (DeviceStep), run on the Kokkos stream. Ghost features of a
   layer-by-layer exchange travel through LAMMPS's Kokkos communication, packed where they lie. */

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

#include "device/device_step.h"
#include "kokkos_base.h"
#include "kokkos_type.h"
#include "pair_kokkos.h"
#include "pair_mlff_student.h"

namespace LAMMPS_NS {

template <class DeviceType>
class PairMLFFStudentKokkos : public PairMLFFStudent, public KokkosBase {
 public:
  PairMLFFStudentKokkos(class LAMMPS*);
  ~PairMLFFStudentKokkos() override;

  void compute(int, int) override;
  void init_style() override;

  int pack_forward_comm_kokkos(int, DAT::tdual_int_1d, DAT::tdual_double_1d&, int, int*) override;
  void unpack_forward_comm_kokkos(int, int, DAT::tdual_double_1d&) override;
  int pack_reverse_comm_kokkos(int, int, DAT::tdual_double_1d&) override;
  void unpack_reverse_comm_kokkos(int, DAT::tdual_int_1d, DAT::tdual_double_1d&) override;

  // Copies rows of the exchange's feature rows (list[k], or first + k) to the buffer, from it, or
  // adds the buffer's values to them, in DeviceType's memory. Public: CUDA's device lambdas may
  // not live in private members.
  enum class RowMove { ToBuffer, FromBuffer, AddFromBuffer };
  void move_rows(int n, const int* list, int first, double* buf, RowMove move) const;

 protected:
  std::optional<mlff::Device> pinned_device() const override;
  void model_loaded() override;
  void release_step() override;
  void swap_features(const mlff::FeatureRows& rows, bool forward) override;
  void finish_device_work() override { DeviceType().fence(); }
  bool feature_rows_on_gpu() const override { return on_gpu; }
  bool lammps_comm_on_device() const override { return device_comm(); }

 private:
  // Calls f(asked, view, host pointer, size, name) for the per-atom energies and virials.
  template <class F>
  void for_each_per_atom_view(F&& f);
  mlff::DeviceArrays kokkos_arrays();
  bool device_comm() const;  // pair communication packs in DeviceType's memory

  // Whether DeviceType's memory is a GPU's, where the model must run with device cuda.
  static constexpr bool on_gpu =
      !Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename DeviceType::memory_space>::accessible;

  std::unique_ptr<mlff::DeviceStep> device_step;
  DAT::ttransform_kkacc_1d k_eatom;
  DAT::ttransform_kkacc_1d_6 k_vatom;
  DAT::ttransform_kkacc_1d_9 k_cvatom;
};

}  // namespace LAMMPS_NS

#endif
#endif
