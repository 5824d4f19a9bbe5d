/* pair_style mlff/student: a distilled machine-learned force field run through LibTorch.
   The class only moves data between LAMMPS and the core in ../src. */

// Read by LAMMPS's own build when the style is compiled into a LAMMPS source tree
// (scripts/install_in_tree.sh); the plugin registers the style itself.
#ifdef PAIR_CLASS
// clang-format off
PairStyle(mlff/student,PairMLFFStudent);
// clang-format on
#else

#ifndef LMP_PAIR_MLFF_STUDENT_H
#define LMP_PAIR_MLFF_STUDENT_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exchange/choice.h"
#include "exchange/transport.h"
#include "graph/engine_step.h"
#include "graph/node_rows.h"
#include "model/model_runner.h"
#include "pair.h"
#include "staged/staged_step.h"
#include "style/style_options.h"
#include "util/step_profile.h"

namespace LAMMPS_NS {

class PairMLFFStudent : public Pair {
 public:
  PairMLFFStudent(class LAMMPS*);
  ~PairMLFFStudent() override;

  void compute(int, int) override;
  void settings(int, char**) override;
  void coeff(int, char**) override;
  void init_style() override;
  void setup() override;
  double init_one(int, int) override;
  void finish() override;
  int pack_forward_comm(int, int*, double*, int, int*) override;
  void unpack_forward_comm(int, int, double*) override;
  int pack_reverse_comm(int, int, double*) override;
  void unpack_reverse_comm(int, int*, double*) override;

 protected:
  void allocate();
  // The device the style decides itself (the Kokkos style: the one of Kokkos's memory).
  virtual std::optional<mlff::Device> pinned_device() const { return std::nullopt; }
  // Loads (or, for a pair_style issued again after pair_coeff, reloads) the model with options.
  void load_model(const std::string& path, bool reload);
  // Called once a model and the element map are in place: makes the step that runs the model.
  virtual void model_loaded();
  // Called before the model is loaded again: the step that refers to it goes first.
  virtual void release_step();
  // Ghost rows must reach their owners: with newton_pair on LAMMPS sums atom->f (and per-atom
  // virials) itself; with it off this style sums its own node rows on the host, hop by hop.
  bool ghost_rows_on_host() const;
  int rows_to_add() const;  // node rows that go into atom->f: ghosts' too with newton on
  void check_ghost_load();

  // One force evaluation by the core's step (StagedStep or DeviceStep): compute, ghost rows
  // summed onto owners where LAMMPS does not, rows added to the engine's arrays, totals tallied.
  template <class Arrays>
  void run_step(mlff::EngineStep<Arrays>& step, const Arrays& arrays) {
    const int virial_width = cvflag_atom ? 9 : (vflag_atom ? 6 : 0);
    mlff::StepTotals totals;
    try {
      if (exchange.exchanges() && (reneighbored() || !planned)) plan_exchange();
      totals = step.compute(arrays, exchange.ghost_nodes(), reneighbored(), virial_width,
                            profile.get(), exchange.exchanges() ? transport.get() : nullptr);
      if (ghost_rows_on_host()) {
        step.download_rows(arrays, node_rows.force, node_rows.virial);
        sum_ghost_rows_on_host(virial_width);
        step.upload_rows(arrays, node_rows.force, node_rows.virial);
      }
      step.add_to_engine(arrays, rows_to_add());
    } catch (const std::exception& e) {
      step_failed(e);
    }
    tally(totals);
  }
  bool reneighbored() const;
  void sum_ghost_rows_on_host(int virial_width);
  [[noreturn]] void step_failed(const std::exception& e);
  void tally(const mlff::StepTotals& totals);
  bool ghost_load_checked = false;

  mlff::StyleOptions options;  // from pair_style's keywords
  std::unique_ptr<mlff::ModelRunner> model;
  std::string model_path;
  double cutoff;
  std::vector<int> type_to_z;  // atomic number per atom type, 0 for NULL

  // How ghosts reach the graph and how exchanged rows travel (exchange/choice.h), and the
  // transport of an exchange.
  mlff::ExchangeChoice exchange;
  void choose_exchange();
  void make_transport();
  void plan_exchange();
  std::unique_ptr<mlff::ExchangeTransport> transport;  // of kind transport_kind
  mlff::Transport transport_kind = mlff::Transport::Auto;
  bool planned = false;   // the transport has a plan for the current ghosts
  int feature_width = 0;  // 8-byte words per atom in an exchange
  // Swap-by-swap communication of feature rows through LAMMPS's host communication; the Kokkos
  // style communicates on the device where LAMMPS does.
  virtual void swap_features(const mlff::FeatureRows& rows, bool forward);
  // Waits for the device work queued so far (profiling only); the plain style's device work is
  // LibTorch's, which the rows' copies to the host wait for.
  virtual void finish_device_work() {}
  virtual bool feature_rows_on_gpu() const { return model->device() == mlff::Device::CUDA; }
  virtual bool lammps_comm_on_device() const { return false; }
  // The owner of every ghost, found by a forward communication of owner ranks and indices
  // through LAMMPS's host communication (the Kokkos style's too).
  void find_ghost_owners();

  // What pack/unpack move: node rows of forces and virials (newton off), or rows in comm_rows
  // (the feature rows of an exchange, or the owners of atoms). LAMMPS sized its buffers for
  // comm_forward = comm_reverse = feature_width words (doubles) per atom.
  enum class CommPayload { NodeRows, Rows };
  CommPayload payload = CommPayload::NodeRows;
  mlff::FeatureRows comm_rows;
  std::vector<mlff::AtomOwner> owners;

  std::unique_ptr<mlff::StagedStep> step;
  mlff::NodeRows node_rows;  // on the host during a reverse communication (newton off)
  std::unique_ptr<mlff::StepProfile> profile;  // MLFF_STUDENT_PROFILE=1
};

}  // namespace LAMMPS_NS

#endif
#endif
