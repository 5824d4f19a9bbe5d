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
#include <string>
#include <vector>

#include "direct_exchange.h"
#include "force_scatter.h"
#include "ghost_exchange.h"
#include "host_step.h"
#include "model_runner.h"
#include "pair.h"
#include "step_profile.h"

namespace LAMMPS_NS {

class PairMLFFStudent : public Pair {
 public:
  PairMLFFStudent(class LAMMPS*);
  ~PairMLFFStudent() override;

  void compute(int, int) override;
  void settings(int, char**) override;
  void coeff(int, char**) override;
  void init_style() override;
  double init_one(int, int) override;
  void finish() override;
  int pack_forward_comm(int, int*, double*, int, int*) override;
  void unpack_forward_comm(int, int, double*) override;
  int pack_reverse_comm(int, int, double*) override;
  void unpack_reverse_comm(int, int*, double*) override;

 protected:
  void allocate();
  // Pins options the style decides itself (the Kokkos style: the device of Kokkos's memory).
  virtual void settle_options() {}
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

  // One force evaluation by the core's step (HostStep or ResidentStep): compute, ghost rows
  // summed onto owners where LAMMPS does not, rows added to the engine's arrays, totals tallied.
  template <class Arrays>
  void run_step(mlff::EngineStep<Arrays>& step, const Arrays& arrays) {
    const int virial_width = cvflag_atom ? 9 : (vflag_atom ? 6 : 0);
    mlff::StepTotals totals;
    try {
      if (exchange_ghosts && exchange_comm != ExchangeComm::Lammps && reneighbored())
        plan_direct_exchange();
      totals = step.compute(arrays, ghost_nodes, reneighbored(), virial_width, profile.get(),
                            exchange_ghosts ? &feature_comm : nullptr);
      if (ghost_rows_on_host()) {
        step.download_rows(arrays, node_force, node_virial);
        sum_ghost_rows_on_host(virial_width);
        step.upload_rows(arrays, node_force, node_virial);
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
  static constexpr double kGhostsPerAtomWarning = 10.0;
  bool ghost_load_checked = false;

  mlff::RunnerOptions options;  // device and precision from pair_style
  // Atoms closer than this (Å) stop the run: no model is trained on overlapping atoms. Shorter
  // than any bond (H2: 0.74 Å) and than any contact thermal motion reaches.
  static constexpr double kDefaultMinDistance = 0.5;
  double min_distance = kDefaultMinDistance;
  std::unique_ptr<mlff::ModelRunner> model;
  std::string model_path;
  double cutoff;
  std::vector<int> type_to_z;  // atomic number per atom type, 0 for NULL
  // How ghosts reach the graph (pair_style keyword ghosts): auto folds them onto their owners on
  // one rank and exchanges features on several (deep where a GPU's feature rows would go through
  // host memory: features_staged_on_host); exchange keeps one cutoff of ghosts as nodes and
  // refreshes their features from their owners before every interaction; deep keeps
  // num_interactions cutoffs of ghosts as nodes with edges of their own, no exchange.
  enum class Ghosts { Auto, Exchange, Deep };
  Ghosts ghosts_asked = Ghosts::Auto;
  bool ghost_nodes;      // ghosts are graph nodes (exchange or deep), else folded
  bool exchange_ghosts;  // and their features are exchanged layer by layer
  // How exchanged rows travel (pair_style keyword exchange_comm): lammps goes swap by swap
  // through LAMMPS's communication (on the device where the Kokkos style's MPI is GPU-aware);
  // direct sends every ghost's row straight from its owning rank over MPI; nccl does that between
  // GPUs over NCCL; auto takes nccl where the rows lie on GPUs, one per rank, and lammps elsewhere.
  enum class ExchangeComm { Auto, Lammps, Direct, Nccl };
  ExchangeComm exchange_comm_asked = ExchangeComm::Auto;
  ExchangeComm exchange_comm = ExchangeComm::Lammps;
  int reverse_virial_width;  // per-atom virial components that travel in reverse communication
  // What pack/unpack move: node rows of forces and virials, or (while comm_features) the feature
  // rows of an exchange, in host or device memory; LAMMPS sized its buffers for comm_forward =
  // comm_reverse = feature_width words (doubles) per atom.
  bool comm_features = false;
  mlff::FeatureRows features;
  int feature_width = 0;
  // Forward (ghost rows from owners) or reverse (ghost rows added to owners) communication of
  // feature rows through LAMMPS's host communication; the Kokkos style communicates on the device
  // where LAMMPS does.
  virtual void communicate_features(const mlff::FeatureRows& rows, bool forward);
  // Waits for the device work queued so far (profiling only); the plain style's device work is
  // LibTorch's, which the rows' copies to the host wait for.
  virtual void finish_device_work() {}
  // Whether the exchange's rows would be copied between a GPU and host memory for LAMMPS's
  // communication (the plain style's when its model runs on a GPU; the Kokkos style's on a GPU
  // whose MPI is not GPU-aware).
  bool features_staged_on_host() const;
  virtual bool feature_rows_on_gpu() const;
  virtual bool lammps_comm_on_device() const { return false; }
  ExchangeComm choose_exchange_comm();
  bool nccl_usable();

  // The direct exchange: who owns each ghost (found by a forward communication of owner ranks and
  // indices, [2 * nall], while comm_owners), which rows go to and come from which rank, and the
  // buffers of its MPI transport (concatenated over peers, reused).
  void plan_direct_exchange();
  virtual void find_ghost_owners();
  void exchange_directly(const mlff::FeatureRows& rows, bool forward);
  bool comm_owners = false;
  std::vector<double> ghost_owners;
  mlff::ExchangePlan exchange_plan;
  std::vector<double> direct_out, direct_in;
  std::unique_ptr<mlff::NcclExchange> nccl;

  // What the core's model run calls between interactions (ghosts exchange).
  class FeatureComm : public mlff::GhostExchange {
   public:
    explicit FeatureComm(PairMLFFStudent& pair) : pair(pair) {}
    int owned_rows() const override;
    void refresh_ghosts(const mlff::FeatureRows& rows) override {
      pair.communicate_features(rows, true);
    }
    void fold_ghosts(const mlff::FeatureRows& rows) override {
      pair.communicate_features(rows, false);
    }

   private:
    PairMLFFStudent& pair;
  };
  FeatureComm feature_comm{*this};

  std::unique_ptr<mlff::HostStep> step;
  // Node rows on the host during a reverse communication: [3 * nodes], [width * nodes].
  std::vector<double> node_force;
  std::vector<double> node_virial;
  std::unique_ptr<mlff::StepProfile> profile;  // MLFF_STUDENT_PROFILE=1
};

}  // namespace LAMMPS_NS

#endif
#endif
