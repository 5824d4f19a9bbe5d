#include "pair_mlff_student.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "exchange/engine_setup.h"
#include "exchange/make_transport.h"
#include "force.h"
#include "group.h"
#include "memory.h"
#include "model/elements.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "style/list_checks.h"
#include "update.h"

using namespace LAMMPS_NS;

PairMLFFStudent::PairMLFFStudent(LAMMPS* lmp) : Pair(lmp), cutoff(0.0) {
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // The virial comes from edge vectors, which stay right when ghosts are folded onto owners.
  no_virial_fdotr_compute = 1;
  // Per-atom virials of a many-body model are not symmetric: compute centroid/stress/atom gets
  // all nine components (cvatom), not the six of compute stress/atom.
  centroidstressflag = CENTROID_AVAIL;
  // Ghost forces and per-atom (centroid) virials, sent to owners by this style only when
  // newton_pair is off.
  comm_reverse_off = 3 + 9;
  if (mlff::StepProfile::requested()) profile = std::make_unique<mlff::StepProfile>();
}

PairMLFFStudent::~PairMLFFStudent() {
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutghost);
  }
}

void PairMLFFStudent::allocate() {
  allocated = 1;
  const int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  memory->create(cutghost, n, n, "pair:cutghost");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
  map = new int[n];
}

// pair_style mlff/student [keyword value ...]: the keywords of mlff::StyleOptions.
void PairMLFFStudent::settings(int narg, char** arg) {
  options = mlff::StyleOptions();
  options.runner.cuda_device = mlff::node_rank(world);
  try {
    for (int iarg = 0; iarg < narg; iarg += 2)
      options.set(arg[iarg], iarg + 1 < narg ? arg[iarg + 1] : nullptr);
    if (const auto here = pinned_device()) options.pin_device(*here);
  } catch (const std::exception& e) {
    error->all(FLERR, "pair_style {}: {}", force->pair_style, e.what());
  }
  // LAMMPS hands a pair_style issued again for the same style to this instance and keeps its
  // pair_coeff: the loaded model must take the new device and precision too.
  if (model) {
    load_model(model_path, true);
    model_loaded();
  }
}

void PairMLFFStudent::load_model(const std::string& path, bool reload) {
  // The step refers to the model: both go, and a GPU's memory is freed before the model loads.
  release_step();
  model.reset();
  try {
    model = std::make_unique<mlff::ModelRunner>(path, options.runner);
  } catch (const std::exception& e) {
    error->all(FLERR, "mlff/student: {}", e.what());
  }
  model_path = path;
  cutoff = model->metadata().cutoff;
  if (comm->me != 0) return;
  const std::string caveat = model->determinism_caveat(path);
  if (!caveat.empty()) error->warning(FLERR, "mlff/student: {}", caveat);
  utils::logmesg(lmp, "mlff/student {} with LibTorch {}\nmlff/student: {}{}\n",
                 MLFF_STUDENT_VERSION, mlff::libtorch_version(),
                 reload ? "pair_style issued again: reloaded " : "", model->summary(path));
}

void PairMLFFStudent::coeff(int narg, char** arg) {
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "pair_coeff for mlff/student needs '* * <model file>' followed by one element "
               "symbol or NULL for each of the {} atom types; got {} element(s)",
               ntypes, narg - 3);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for mlff/student must start with '* *'");

  load_model(arg[2], false);
  const mlff::ModelMetadata& meta = model->metadata();

  const std::vector<std::string> symbols(arg + 3, arg + 3 + ntypes);
  try {
    type_to_z = mlff::type_atomic_numbers(symbols, meta.max_z);
  } catch (const std::exception& e) {
    error->all(FLERR, "mlff/student: {}", e.what());
  }
  map_element2type(ntypes, arg + 3);
  const auto& trained = meta.trained_elements;
  for (int t = 1; t <= ntypes && comm->me == 0 && !trained.empty(); t++)
    if (type_to_z[t] && std::find(trained.begin(), trained.end(), symbols[t - 1]) == trained.end())
      error->warning(FLERR,
                     "mlff/student: element {} (atom type {}) is not among the elements {} was "
                     "trained on ({}): its energies and forces are an extrapolation",
                     symbols[t - 1], t, arg[2], utils::join_words(trained, " "));
  model_loaded();
}

void PairMLFFStudent::init_style() {
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR,
               "Pair style mlff/student requires 'units metal' (the model works in A and eV)");
  if (atom->tag_enable == 0) error->all(FLERR, "Pair style mlff/student requires atom IDs");
  const std::string refusal = mlff::list_refusal(
      {atom->molecular != Atom::ATOMIC, force->special_lj, force->special_coul, neighbor->nex_type,
       neighbor->nex_group, neighbor->nex_mol, neighbor->ex_mol_intra,
       neighbor->includegroup ? group->names[neighbor->includegroup] : ""});
  if (!refusal.empty()) error->all(FLERR, "mlff/student: {}", refusal);

  // Messages travel num_interactions * cutoff. One rank sees every atom, so ghosts are folded
  // onto the atoms they image. Several ranks either exchange ghost features between
  // interactions, with one cutoff of ghosts, or keep ghosts that deep as graph nodes.
  choose_exchange();
  const mlff::ModelMetadata& meta = model->metadata();
  const bool float64 = model->precision() == mlff::Precision::FP64;
  feature_width = exchange.exchanges() ? meta.ghost_exchange_words(float64) : 0;
  comm_forward = feature_width;
  comm_reverse = feature_width;
  ghost_load_checked = false;
  ghostneigh = exchange.ghosts == mlff::GhostMode::Deep ? 1 : 0;
  // Exchanged ghosts need LAMMPS's default shell (the pair cutoff + skin); the deep shell more.
  neighbor->add_request(this, NeighConst::REQ_FULL | (ghostneigh ? NeighConst::REQ_GHOST : 0));
  if (exchange.exchanges()) {
    make_transport();
    if (comm->me == 0)
      utils::logmesg(lmp, "mlff/student: {}\n",
                     mlff::exchange_log_line(exchange, meta, feature_width, float64));
  } else if (ghostneigh) {
    const double need = meta.receptive_field() + neighbor->skin;
    if (comm->style == Comm::TILED)
      for (int d = 0; d < domain->dimension; d++)
        if (domain->periodicity[d] && need > domain->prd[d])
          error->all(FLERR, "mlff/student: {}",
                     mlff::deep_shell_refusal(meta, need, domain->prd[d]));
    if (comm->cutghostuser < need) {
      comm->cutghostuser = need;
      if (comm->me == 0)
        utils::logmesg(lmp,
                       "mlff/student: ghost cutoff set to {} A ({} interactions x {} A + skin)\n",
                       need, meta.num_interactions, cutoff);
    }
  }
}

// The list's skips exist once LAMMPS has made it, after init_style.
void PairMLFFStudent::setup() {
  const std::string refusal = mlff::skipped_types_refusal(list->ijskip, type_to_z);
  if (!refusal.empty()) error->all(FLERR, "mlff/student: {}", refusal);
}

double PairMLFFStudent::init_one(int i, int j) {
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  if (ghostneigh) cutghost[i][j] = cutghost[j][i] = cutoff;
  return cutoff;
}

// Said once per run.
void PairMLFFStudent::check_ghost_load() {
  if (exchange.ghosts != mlff::GhostMode::Deep || ghost_load_checked) return;
  ghost_load_checked = true;
  const std::string warning =
      mlff::ghost_load_warning(world, atom->nlocal, atom->nghost, comm->cutghostuser);
  if (comm->me == 0 && !warning.empty()) error->warning(FLERR, "mlff/student: {}", warning);
}

void PairMLFFStudent::compute(int eflag, int vflag) {
  ev_init(eflag, vflag);
  check_ghost_load();
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  mlff::HostArrays arrays;
  arrays.atoms = {nall > 0 ? &atom->x[0][0] : nullptr, atom->type, nlocal, nall};
  arrays.tag = atom->tag;
  arrays.neighbors = {list->inum + (exchange.ghost_nodes() ? list->gnum : 0), list->ilist,
                      list->numneigh, list->firstneigh, NEIGHMASK};
  arrays.f = nall > 0 ? &atom->f[0][0] : nullptr;
  if (eflag_atom) arrays.eatom = eatom;
  if (vflag_atom) arrays.vatom = &vatom[0][0];
  if (cvflag_atom) arrays.cvatom = &cvatom[0][0];
  run_step(*step, arrays);
}

void PairMLFFStudent::model_loaded() {
  step = std::make_unique<mlff::StagedStep>(*model, type_to_z, cutoff, options.min_distance);
}

void PairMLFFStudent::release_step() {
  step.reset();
}

void PairMLFFStudent::choose_exchange() {
  const mlff::ModelMetadata& meta = model->metadata();
  const mlff::ExchangeFacts facts = mlff::gather_facts(
      options.ghosts, options.transport, meta, model_path, world,
      feature_rows_on_gpu() ? model->cuda_device() : -1, lammps_comm_on_device());
  try {
    exchange = mlff::choose_exchange(facts);
  } catch (const std::exception& e) {
    error->all(FLERR, "mlff/student: {}", e.what());
  }
  const std::string note = mlff::explain(exchange.note, model_path, meta.receptive_field());
  if (comm->me != 0 || note.empty()) return;
  if (exchange.note == mlff::ExchangeChoice::Note::NoExchangeEntry)
    error->warning(FLERR, "mlff/student: {}", note);
  else
    utils::logmesg(lmp, "mlff/student: {}\n", note);
}

// A transport of the kind chosen, kept across runs (an NCCL communicator is costly to set up).
void PairMLFFStudent::make_transport() {
  if (transport && transport_kind == exchange.transport) return;
  transport.reset();
  try {
    transport = mlff::make_transport(
        exchange.transport, world, model->cuda_device(),
        [this](const mlff::FeatureRows& rows, bool forward) { swap_features(rows, forward); },
        profile.get(), [this] { finish_device_work(); });
  } catch (const std::exception& e) {
    error->one(FLERR, "mlff/student: {}", e.what());
  }
  transport_kind = exchange.transport;
  planned = false;
}

// At every rebuild of the ghosts: every ghost learns its owner's rank and index (one forward
// communication) where the transport sends rows straight to their owners.
void PairMLFFStudent::plan_exchange() {
  const int nlocal = atom->nlocal;
  owners.clear();
  if (transport->needs_owners()) {
    owners.resize(nlocal + atom->nghost);
    for (int i = 0; i < nlocal; i++) owners[i] = {comm->me, i};
    find_ghost_owners();
  }
  transport->plan(nlocal, owners);
  planned = true;
}

// An owner (two ints) travels as one 8-byte word, bit for bit, like a row of features.
void PairMLFFStudent::find_ghost_owners() {
  static_assert(sizeof(mlff::AtomOwner) == 8);
  const ExecutionSpace space = std::exchange(execution_space, Host);
  payload = CommPayload::Rows;
  comm_rows = {owners.data(), static_cast<std::int64_t>(owners.size()), 1, false, false};
  comm->forward_comm(this, 1);
  payload = CommPayload::NodeRows;
  comm_rows = mlff::FeatureRows();
  execution_space = space;
}

bool PairMLFFStudent::reneighbored() const {
  return neighbor->ago == 0;
}

[[noreturn]] void PairMLFFStudent::step_failed(const std::exception& e) {
  error->one(FLERR, "mlff/student: {}", e.what());
}

void PairMLFFStudent::tally(const mlff::StepTotals& totals) {
  if (eflag_global) eng_vdwl += totals.energy;
  if (vflag_global)
    for (int k = 0; k < 6; k++) virial[k] += totals.virial[k];
  if (profile) profile->count_step();
}

bool PairMLFFStudent::ghost_rows_on_host() const {
  return exchange.ghost_nodes() && !force->newton_pair;
}

void PairMLFFStudent::sum_ghost_rows_on_host(int virial_width) {
  node_rows.virial_width = virial_width;
  comm->reverse_comm(this);
}

int PairMLFFStudent::rows_to_add() const {
  return (exchange.ghost_nodes() && force->newton_pair) ? atom->nlocal + atom->nghost
                                                        : atom->nlocal;
}

void PairMLFFStudent::finish() {
  if (!profile) return;
  if (comm->me == 0)
    utils::logmesg(lmp, "mlff/student time per stage on rank 0 (MLFF_STUDENT_PROFILE):\n{}",
                   profile->report());
  profile->reset();
}

void PairMLFFStudent::swap_features(const mlff::FeatureRows& rows, bool forward) {
  if (rows.width != feature_width)
    error->one(FLERR, "mlff/student: the model exchanges {} words per atom, not the {} set up",
               rows.width, feature_width);
  payload = CommPayload::Rows;
  comm_rows = rows;
  if (forward)
    comm->forward_comm(this, rows.width);
  else
    comm->reverse_comm(this, rows.width);
  payload = CommPayload::NodeRows;
  comm_rows = mlff::FeatureRows();
}

int PairMLFFStudent::pack_forward_comm(int n, int* list, double* buf, int, int*) {
  mlff::gather_rows(comm_rows, list, n, buf);
  return n * comm_rows.width;
}

void PairMLFFStudent::unpack_forward_comm(int n, int first, double* buf) {
  mlff::copy_rows_in(comm_rows, first, n, buf);
}

int PairMLFFStudent::pack_reverse_comm(int n, int first, double* buf) {
  if (payload == CommPayload::NodeRows) return node_rows.pack(first, n, buf);
  mlff::copy_rows_out(comm_rows, first, n, buf);
  return n * comm_rows.width;
}

void PairMLFFStudent::unpack_reverse_comm(int n, int* list, double* buf) {
  if (payload == CommPayload::NodeRows) return node_rows.add(list, n, buf);
  mlff::add_to_rows(comm_rows, list, n, buf);
}
