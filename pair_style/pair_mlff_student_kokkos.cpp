#include "pair_mlff_student_kokkos.h"

#include <type_traits>

#include "atom_kokkos.h"
#include "atom_masks.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "kokkos.h"
#include "memory_kokkos.h"
#include "neigh_list_kokkos.h"
#include "neigh_request.h"
#include "neighbor.h"

using namespace LAMMPS_NS;

template <class DeviceType>
PairMLFFStudentKokkos<DeviceType>::PairMLFFStudentKokkos(LAMMPS* lmp) : PairMLFFStudent(lmp) {
  if (!lmp->kokkos)
    error->all(FLERR,
               "pair_style mlff/student/kk needs the KOKKOS package enabled: run LAMMPS with "
               "-k on (e.g. -k on g 1 -sf kk on a GPU, -k on t 4 -sf kk on CPU threads)");
  kokkosable = 1;
  respa_enable = 0;
  atomKK = (AtomKokkos*)atom;
  execution_space = ExecutionSpaceFromDevice<DeviceType>::space;
  datamask_read = X_MASK | F_MASK | TAG_MASK | TYPE_MASK | ENERGY_MASK | VIRIAL_MASK;
  datamask_modify = F_MASK | ENERGY_MASK | VIRIAL_MASK;
}

template <class DeviceType>
PairMLFFStudentKokkos<DeviceType>::~PairMLFFStudentKokkos() {
  if (copymode) return;
  for_each_per_atom_view([&](int, auto& view, auto*& host, int, const char*) {
    memoryKK->destroy_kokkos(view, host);
    host = nullptr;
  });
}

// The model runs where Kokkos keeps the atoms: device cuda for a GPU build's device style,
// device cpu for host builds and /kk/host, on the GPU Kokkos chose (-k on g N).
template <class DeviceType>
std::optional<mlff::Device> PairMLFFStudentKokkos<DeviceType>::pinned_device() const {
  return on_gpu ? mlff::Device::CUDA : mlff::Device::CPU;
}

// The device step holds the model it runs: a model loaded again needs a new one. (The plain
// style's staged step is not made.)
template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::model_loaded() {
  device_step = std::make_unique<mlff::DeviceStep>(*model, type_to_z, cutoff, options.min_distance);
}

template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::release_step() {
  device_step.reset();
}

template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::init_style() {
  PairMLFFStudent::init_style();
  auto request = neighbor->find_request(this);
  request->set_kokkos_host(std::is_same_v<DeviceType, LMPHostType> &&
                           !std::is_same_v<DeviceType, LMPDeviceType>);
  request->set_kokkos_device(std::is_same_v<DeviceType, LMPDeviceType>);
}

// LAMMPS communicates for pair styles on the device unless its MPI cannot read device memory
// (then it packs on the host: 'package kokkos comm/pair/forward host', set by itself for MPI that
// is not GPU-aware, where the base class's pack functions move only the rows they pack).
template <class DeviceType>
bool PairMLFFStudentKokkos<DeviceType>::device_comm() const {
  return execution_space == Device && !lmp->kokkos->forward_pair_comm_legacy &&
         !lmp->kokkos->reverse_pair_comm_legacy;
}

// LAMMPS reads reverse_comm_device at each call: the device pack and unpack below serve feature
// rows only, while node rows of forces (newton off) are summed on the host.
template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::swap_features(const mlff::FeatureRows& rows, bool forward) {
  reverse_comm_device = device_comm() ? 1 : 0;
  PairMLFFStudent::swap_features(rows, forward);
  reverse_comm_device = 0;
}

// Rows are 8-byte words, added as two float32 values where the rows are single. One swap's list
// names each atom once: no two threads add to one value.
template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::move_rows(int n, const int* list, int first, double* buf,
                                                  RowMove move) const {
  const bool as_floats = move == RowMove::AddFromBuffer && comm_rows.single;
  const int w = as_floats ? 2 * comm_rows.width : comm_rows.width;
  double* words = static_cast<double*>(comm_rows.data);
  float* values = static_cast<float*>(comm_rows.data);
  const float* buf_values = reinterpret_cast<const float*>(buf);
  Kokkos::parallel_for(
      Kokkos::RangePolicy<DeviceType>(0, n * w), KOKKOS_LAMBDA(int k) {
        const std::int64_t at = std::int64_t(list ? list[k / w] : first + k / w) * w + k % w;
        if (move == RowMove::ToBuffer)
          buf[k] = words[at];
        else if (move == RowMove::FromBuffer)
          words[at] = buf[k];
        else if (as_floats)
          values[at] += buf_values[k];
        else
          words[at] += buf[k];
      });
}

template <class DeviceType>
int PairMLFFStudentKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_1d k_sendlist,
                                                                DAT::tdual_double_1d& k_buf, int,
                                                                int*) {
  move_rows(n, k_sendlist.view<DeviceType>().data(), 0, k_buf.view<DeviceType>().data(),
            RowMove::ToBuffer);
  return n * comm_rows.width;
}

template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::unpack_forward_comm_kokkos(int n, int first,
                                                                   DAT::tdual_double_1d& k_buf) {
  move_rows(n, nullptr, first, k_buf.view<DeviceType>().data(), RowMove::FromBuffer);
}

template <class DeviceType>
int PairMLFFStudentKokkos<DeviceType>::pack_reverse_comm_kokkos(int n, int first,
                                                                DAT::tdual_double_1d& k_buf) {
  move_rows(n, nullptr, first, k_buf.view<DeviceType>().data(), RowMove::ToBuffer);
  return n * comm_rows.width;
}

template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::unpack_reverse_comm_kokkos(int n,
                                                                   DAT::tdual_int_1d k_sendlist,
                                                                   DAT::tdual_double_1d& k_buf) {
  move_rows(n, k_sendlist.view<DeviceType>().data(), 0, k_buf.view<DeviceType>().data(),
            RowMove::AddFromBuffer);
}

template <class DeviceType>
void PairMLFFStudentKokkos<DeviceType>::compute(int eflag, int vflag) {
  ev_init(eflag, vflag, 0);
  check_ghost_load();
  for_each_per_atom_view([&](int asked, auto& view, auto*& host, int size, const char* name) {
    if (!asked) return;
    memoryKK->destroy_kokkos(view, host);
    memoryKK->create_kokkos(view, host, size, name);
  });
  atomKK->sync(execution_space, datamask_read);
  atomKK->modified(execution_space, (eflag || vflag) ? datamask_modify : F_MASK);
  const mlff::DeviceArrays arrays = kokkos_arrays();
  // LibTorch's kernels are queued on the Kokkos stream; host backends finish their work first.
  if constexpr (!on_gpu) DeviceType().fence();
  run_step(*device_step, arrays);
  for_each_per_atom_view([](int asked, auto& view, auto*&, int, const char*) {
    if (!asked) return;
    view.template modify<DeviceType>();
    view.sync_host();
  });
}

// Per-atom energies and virials live in Kokkos views, made again when LAMMPS asks for them.
template <class DeviceType>
template <class F>
void PairMLFFStudentKokkos<DeviceType>::for_each_per_atom_view(F&& f) {
  f(eflag_atom, k_eatom, eatom, maxeatom, "pair:eatom");
  f(vflag_atom, k_vatom, vatom, maxvatom, "pair:vatom");
  f(cvflag_atom, k_cvatom, cvatom, maxcvatom, "pair:cvatom");
}

// The Kokkos views the step reads and adds to, in DeviceType's memory.
template <class DeviceType>
mlff::DeviceArrays PairMLFFStudentKokkos<DeviceType>::kokkos_arrays() {
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  auto x = atomKK->k_x.template view<DeviceType>();
  auto f = atomKK->k_f.template view<DeviceType>();
  auto* k_list = static_cast<NeighListKokkos<DeviceType>*>(list);
  const bool rows_contiguous =
      x.stride(0) == 3 && x.stride(1) == 1 && f.stride(0) == 3 && f.stride(1) == 1 &&
      (!vflag_atom || k_vatom.template view<DeviceType>().stride(0) == 6) &&
      (!cvflag_atom || k_cvatom.template view<DeviceType>().stride(0) == 9);
  if (nall > 0 && !rows_contiguous)
    error->all(FLERR, "mlff/student/kk needs LAMMPS built with KOKKOS_LAYOUT=legacy");

  mlff::DeviceArrays arrays;
  arrays.atoms = {x.data(), atomKK->k_type.template view<DeviceType>().data(), nlocal, nall};
  arrays.tag = atomKK->k_tag.template view<DeviceType>().data();
  arrays.neighbors = {list->inum + (exchange.ghost_nodes() ? list->gnum : 0),
                      k_list->d_ilist.data(), k_list->d_numneigh.data()};
  arrays.neighbors.set_table(k_list->d_neighbors, NEIGHMASK);
  arrays.f = f.data();
  if (eflag_atom) arrays.eatom = k_eatom.template view<DeviceType>().data();
  if (vflag_atom) arrays.vatom = k_vatom.template view<DeviceType>().data();
  if (cvflag_atom) arrays.cvatom = k_cvatom.template view<DeviceType>().data();
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (on_gpu) arrays.cuda_stream = DeviceType().cuda_stream();
#endif
  return arrays;
}

namespace LAMMPS_NS {
template class PairMLFFStudentKokkos<LMPDeviceType>;
#ifdef LMP_KOKKOS_GPU
template class PairMLFFStudentKokkos<LMPHostType>;
#endif

// For the plugin registration, which does not see Kokkos. Without a GPU backend the host type
// is the device type.
Pair* create_pair_mlff_student_kokkos_device(LAMMPS* lmp) {
  return new PairMLFFStudentKokkos<LMPDeviceType>(lmp);
}
Pair* create_pair_mlff_student_kokkos_host(LAMMPS* lmp) {
  return new PairMLFFStudentKokkos<LMPHostType>(lmp);
}
}  // namespace LAMMPS_NS
