#include "pair_mlff_student.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "elements.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "platform.h"
#include "update.h"

using namespace LAMMPS_NS;

PairMLFFStudent::PairMLFFStudent(LAMMPS* lmp)
    : Pair(lmp), cutoff(0.0), ghost_nodes(false), exchange_ghosts(false), reverse_virial_width(0) {
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

// pair_style mlff/student [device cuda|cpu] [precision fp64|fp32|tf32|fp16|bf16]
//                         [cuda_graph auto|yes|no] [min_distance <A>] [deterministic yes|no]
//                         [ghosts auto|exchange|deep] [exchange_comm auto|lammps|direct|nccl]
void PairMLFFStudent::settings(int narg, char** arg) {
  options = mlff::RunnerOptions();
  min_distance = kDefaultMinDistance;
  ghosts_asked = Ghosts::Auto;
  exchange_comm_asked = ExchangeComm::Auto;
  // One rank per GPU: ranks on a node take its GPUs in turn (more ranks than GPUs share them).
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &options.cuda_device);
  MPI_Comm_free(&node);
  for (int iarg = 0; iarg < narg; iarg += 2) {
    const std::string key = arg[iarg];
    if (key != "device" && key != "precision" && key != "cuda_graph" && key != "min_distance" &&
        key != "deterministic" && key != "ghosts" && key != "exchange_comm")
      error->all(FLERR, "Illegal pair_style mlff/student argument: {}", key);
    if (iarg + 1 >= narg) error->all(FLERR, "pair_style mlff/student: {} needs a value", key);
    const std::string value = arg[iarg + 1];
    try {
      if (key == "device")
        options.device = mlff::parse_device(value);
      else if (key == "precision")
        options.precision = mlff::parse_precision(value);
      else if (key == "min_distance") {
        min_distance = utils::numeric(FLERR, value, false, lmp);
        if (min_distance < 0.0)
          error->all(FLERR,
                     "pair_style mlff/student: min_distance must be >= 0 (0 turns the "
                     "overlap check off), not {}",
                     value);
      } else if (key == "deterministic")
        options.deterministic = utils::logical(FLERR, value, false, lmp) == 1;
      else if (key == "ghosts") {
        if (value == "auto")
          ghosts_asked = Ghosts::Auto;
        else if (value == "exchange")
          ghosts_asked = Ghosts::Exchange;
        else if (value == "deep")
          ghosts_asked = Ghosts::Deep;
        else
          error->all(FLERR,
                     "pair_style mlff/student: ghosts must be auto, exchange or deep, not {}",
                     value);
      } else if (key == "exchange_comm") {
        if (value == "auto")
          exchange_comm_asked = ExchangeComm::Auto;
        else if (value == "lammps")
          exchange_comm_asked = ExchangeComm::Lammps;
        else if (value == "direct")
          exchange_comm_asked = ExchangeComm::Direct;
        else if (value == "nccl")
          exchange_comm_asked = ExchangeComm::Nccl;
        else
          error->all(FLERR,
                     "pair_style mlff/student: exchange_comm must be auto, lammps, direct or nccl, "
                     "not {}",
                     value);
      } else
        options.cuda_graph = mlff::parse_cuda_graph_mode(value);
    } catch (const std::exception& e) {
      error->all(FLERR, "pair_style mlff/student: {}", e.what());
    }
  }
  settle_options();
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
    model = std::make_unique<mlff::ModelRunner>(path, options);
  } catch (const std::exception& e) {
    error->all(FLERR, "mlff/student: {}", e.what());
  }
  model_path = path;
  const mlff::ModelMetadata& meta = model->metadata();
  cutoff = meta.cutoff;
  if (comm->me != 0) return;
  std::string where = mlff::device_name(model->device());
  if (model->cuda_device() >= 0) where += ":" + std::to_string(model->cuda_device());
  const auto knots = meta.entries.find("filter_knots");
  const auto reads = meta.entries.find("message_features");
  const auto tables = meta.entries.find("filter_tables");
  const std::string kernels =
      knots == meta.entries.end()
          ? ""
          : ", fused message kernels with " + knots->second + "-knot filter tables" +
                (reads == meta.entries.end() || tables == meta.entries.end()
                     ? ""
                     : " (" + tables->second + "), reading " + reads->second + " features");
  const auto message = meta.entries.find("message");
  if (model->deterministic() && message != meta.entries.end() && message->second != "fused")
    error->warning(FLERR,
                   "mlff/student: deterministic yes with package {}, whose message step was "
                   "compiled from the model's own ops ({}): its scatters may add atomically, so "
                   "reruns can differ in the last digits. Use a TorchScript file, or a package "
                   "compiled with the fused message kernels (the default on CUDA)",
                   path, message->second);
  utils::logmesg(lmp, "mlff/student {} with LibTorch {}\n", MLFF_STUDENT_VERSION,
                 mlff::libtorch_version());
  utils::logmesg(lmp,
                 "mlff/student: {}{} model {} (cutoff {} A, {} interactions{}) on {} in {}{}\n",
                 reload ? "pair_style issued again: reloaded " : "", meta.format, path, meta.cutoff,
                 meta.num_interactions, kernels, where, mlff::precision_name(model->precision()),
                 model->deterministic() ? ", deterministic" : "");
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

  bool any_element = false;
  for (int t = 1; t <= ntypes; t++) any_element = any_element || strcmp(arg[2 + t], "NULL") != 0;
  if (!any_element)
    error->all(FLERR,
               "pair_coeff for mlff/student maps every atom type to NULL, so the model would "
               "act on no atom: give the element of each type it should act on (NULL leaves a "
               "type to another style of pair_style hybrid)");
  map_element2type(ntypes, arg + 3);
  type_to_z.assign(ntypes + 1, 0);
  for (int t = 1; t <= ntypes; t++) {
    const std::string symbol = arg[2 + t];
    if (symbol == "NULL") continue;
    const int z = mlff::atomic_number(symbol);
    if (z == 0)
      error->all(FLERR, "mlff/student: '{}' (atom type {}) is not a chemical element", symbol, t);
    if (z > meta.max_z)
      error->all(FLERR,
                 "mlff/student: element {} (Z = {}, atom type {}) is outside the model's "
                 "table, which ends at Z = {}",
                 symbol, z, t, meta.max_z);
    type_to_z[t] = z;
    const auto& trained = meta.trained_elements;
    if (!trained.empty() && std::find(trained.begin(), trained.end(), symbol) == trained.end() &&
        comm->me == 0)
      error->warning(FLERR,
                     "mlff/student: element {} (atom type {}) is not among the elements {} was "
                     "trained on ({}): its energies and forces are an extrapolation",
                     symbol, t, arg[2], utils::join_words(trained, " "));
  }
  model_loaded();
}

void PairMLFFStudent::init_style() {
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR,
               "Pair style mlff/student requires 'units metal' (the model works in A and eV)");
  if (atom->tag_enable == 0) error->all(FLERR, "Pair style mlff/student requires atom IDs");
  // LAMMPS leaves bonded 1-2, 1-3 and 1-4 pairs out of every neighbor list when both special
  // weights of that kind are 0 (special_bonds' default): the model would lose those edges.
  if (atom->molecular != Atom::ATOMIC)
    for (int k = 1; k <= 3; k++)
      if (force->special_lj[k] == 0.0 && force->special_coul[k] == 0.0)
        error->all(FLERR,
                   "mlff/student needs bonded atoms in its neighbor list, but special_bonds "
                   "weights of 0 for 1-{} pairs remove them: use 'special_bonds lj/coul 1.0 1.0 "
                   "1.0' (with pair_style hybrid/overlay, set the other styles' weights with "
                   "pair_modify pair <style> special lj/coul ...)",
                   k + 1);

  // Messages travel num_interactions * cutoff. One rank sees every atom, so ghosts are folded
  // onto the atoms they image. Several ranks either exchange ghost features between
  // interactions, with one cutoff of ghosts, or keep ghosts that deep as graph nodes.
  const mlff::ModelMetadata& meta = model->metadata();
  if (ghosts_asked == Ghosts::Exchange && !meta.ghost_exchange)
    error->all(FLERR,
               "mlff/student: ghosts exchange needs a model file with an exchange entry, which "
               "{} predates: export or compile it again with python -m mlff_student (or use "
               "ghosts deep)",
               model_path);
  // Where a GPU's feature rows would go through host memory at every exchange (the plain style
  // on a GPU, MPI that is not GPU-aware), the deep shell measured faster (bench/README.md): auto
  // takes it there.
  const bool auto_on_ranks = ghosts_asked == Ghosts::Auto && comm->nprocs > 1;
  exchange_comm = choose_exchange_comm();
  const bool staged = features_staged_on_host();
  exchange_ghosts =
      ghosts_asked == Ghosts::Exchange || (auto_on_ranks && meta.ghost_exchange && !staged);
  ghost_nodes = exchange_ghosts || ghosts_asked == Ghosts::Deep || auto_on_ranks;
  if (auto_on_ranks && !meta.ghost_exchange && comm->me == 0)
    error->warning(FLERR,
                   "mlff/student: {} has no exchange entry, so every rank computes the messages "
                   "of ghosts {} A deep: export or compile it again with python -m mlff_student "
                   "for the faster layer-by-layer exchange",
                   model_path, meta.receptive_field());
  else if (auto_on_ranks && staged && comm->me == 0)
    utils::logmesg(lmp,
                   "mlff/student: ghost features would travel between GPUs through host memory "
                   "(without NCCL, one GPU per rank, or GPU-aware MPI with the Kokkos style), "
                   "which is slower than a deep ghost shell: ghosts deep ('ghosts exchange' asks "
                   "for the exchange)\n");
  const bool float64 = model->precision() == mlff::Precision::FP64;
  feature_width = exchange_ghosts ? meta.ghost_exchange_words(float64) : 0;
  comm_forward = feature_width;
  comm_reverse = feature_width;
  ghost_load_checked = false;
  ghostneigh = (ghost_nodes && !exchange_ghosts) ? 1 : 0;
  if (exchange_ghosts) {
    // The pair cutoff gives LAMMPS's default ghost shell: one cutoff + skin.
    neighbor->add_request(this, NeighConst::REQ_FULL);
    if (exchange_comm == ExchangeComm::Nccl && !nccl) {
      std::vector<char> id;
      try {
        if (comm->me == 0) id = mlff::NcclExchange::unique_id();
        int bytes = static_cast<int>(id.size());
        MPI_Bcast(&bytes, 1, MPI_INT, 0, world);
        id.resize(bytes);
        MPI_Bcast(id.data(), bytes, MPI_CHAR, 0, world);
        nccl =
            std::make_unique<mlff::NcclExchange>(id, comm->nprocs, comm->me, model->cuda_device());
      } catch (const std::exception& e) {
        error->one(FLERR, "mlff/student: exchange_comm nccl: {}", e.what());
      }
    }
    if (comm->me == 0) {
      const char* via =
          exchange_comm == ExchangeComm::Nccl
              ? "directly between GPUs over NCCL"
              : (exchange_comm == ExchangeComm::Direct ? "directly between ranks over MPI"
                                                       : "through LAMMPS's communication");
      utils::logmesg(lmp,
                     "mlff/student: ghost features exchanged before each of {} interactions "
                     "({} bytes per atom, {}), {}\n",
                     meta.num_interactions - 1, 8 * feature_width, float64 ? "float64" : "float32",
                     via);
    }
  } else if (ghost_nodes) {
    const double need = model->metadata().receptive_field() + neighbor->skin;
    if (comm->style == Comm::TILED)
      for (int d = 0; d < domain->dimension; d++)
        if (domain->periodicity[d] && need > domain->prd[d])
          error->all(FLERR,
                     "mlff/student on several ranks needs ghost atoms {} A deep ({} "
                     "interactions x {} A + skin), more than the periodic box length {} A, which "
                     "comm_style tiled cannot give: use comm_style brick (the default)",
                     need, model->metadata().num_interactions, cutoff, domain->prd[d]);
    if (comm->cutghostuser < need) {
      comm->cutghostuser = need;
      if (comm->me == 0)
        utils::logmesg(lmp,
                       "mlff/student: ghost cutoff set to {} A ({} interactions x {} A + skin)\n",
                       need, model->metadata().num_interactions, cutoff);
    }
    neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_GHOST);
  } else {
    neighbor->add_request(this, NeighConst::REQ_FULL);
  }
}

double PairMLFFStudent::init_one(int i, int j) {
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  if (ghostneigh) cutghost[i][j] = cutghost[j][i] = cutoff;
  return cutoff;
}

// Several ranks compute the messages of all their ghosts too: when ghosts far outnumber owned
// atoms, fewer ranks would be faster. Said once per run.
void PairMLFFStudent::check_ghost_load() {
  if (!ghost_nodes || exchange_ghosts || ghost_load_checked || comm->nprocs == 1) return;
  ghost_load_checked = true;
  const double mine[2] = {double(atom->nlocal), double(atom->nghost)};
  double all[2];
  MPI_Allreduce(mine, all, 2, MPI_DOUBLE, MPI_SUM, world);
  if (comm->me == 0 && all[1] > kGhostsPerAtomWarning * all[0])
    error->warning(FLERR,
                   "mlff/student: the {} ranks hold {:.0f} ghost atoms for {:.0f} atoms ({:.0f} "
                   "per atom), and every ghost's messages are computed: this run is far slower "
                   "than on fewer ranks. Use fewer ranks, or give each a subdomain much larger "
                   "than the {} A ghost shell",
                   comm->nprocs, all[1], all[0], all[1] / std::max(all[0], 1.0),
                   comm->cutghostuser);
}

void PairMLFFStudent::compute(int eflag, int vflag) {
  ev_init(eflag, vflag);
  check_ghost_load();
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  mlff::HostArrays arrays;
  arrays.atoms = {nall > 0 ? &atom->x[0][0] : nullptr, atom->type, nlocal, nall};
  arrays.tag = atom->tag;
  arrays.neighbors = {list->inum + (ghost_nodes ? list->gnum : 0), list->ilist, list->numneigh,
                      list->firstneigh, NEIGHMASK};
  arrays.f = nall > 0 ? &atom->f[0][0] : nullptr;
  if (eflag_atom) arrays.eatom = eatom;
  if (vflag_atom) arrays.vatom = &vatom[0][0];
  if (cvflag_atom) arrays.cvatom = &cvatom[0][0];
  run_step(*step, arrays);
}

void PairMLFFStudent::model_loaded() {
  step = std::make_unique<mlff::HostStep>(*model, type_to_z, cutoff, min_distance);
}

void PairMLFFStudent::release_step() {
  step.reset();
}

bool PairMLFFStudent::feature_rows_on_gpu() const {
  return model->device() == mlff::Device::CUDA;
}

bool PairMLFFStudent::features_staged_on_host() const {
  return feature_rows_on_gpu() && exchange_comm != ExchangeComm::Nccl &&
         !(exchange_comm == ExchangeComm::Lammps && lammps_comm_on_device());
}

// NCCL needs a GPU of its own for every rank: the ranks on a node use different GPUs. Collective.
bool PairMLFFStudent::nccl_usable() {
  MPI_Comm node;
  int node_ranks = 0;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_ranks);
  const int mine =
      mlff::NcclExchange::available() && feature_rows_on_gpu() ? model->cuda_device() : -1;
  std::vector<int> gpus(node_ranks);
  MPI_Allgather(&mine, 1, MPI_INT, gpus.data(), 1, MPI_INT, node);
  MPI_Comm_free(&node);
  std::sort(gpus.begin(), gpus.end());
  int ok = gpus.front() >= 0 && std::adjacent_find(gpus.begin(), gpus.end()) == gpus.end();
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, world);
  return all == 1;
}

PairMLFFStudent::ExchangeComm PairMLFFStudent::choose_exchange_comm() {
  if (exchange_comm_asked == ExchangeComm::Nccl) {
    if (!mlff::NcclExchange::available())
      error->all(FLERR,
                 "mlff/student: exchange_comm nccl, but this build has no NCCL (it is built in "
                 "when CMake finds nccl.h and libnccl beside a CUDA LibTorch, or under "
                 "NCCL_HOME): use exchange_comm lammps or direct");
    if (!feature_rows_on_gpu())
      error->all(FLERR,
                 "mlff/student: exchange_comm nccl moves rows between GPUs, but the model runs "
                 "on the host: use exchange_comm lammps or direct");
    return ExchangeComm::Nccl;
  }
  if (exchange_comm_asked != ExchangeComm::Auto) return exchange_comm_asked;
  return comm->nprocs > 1 && nccl_usable() ? ExchangeComm::Nccl : ExchangeComm::Lammps;
}

// Every ghost learns its owner's rank and index through one forward communication; each rank then
// asks every owner for the rows its ghosts copy (one all-to-all), at every rebuild of the ghosts.
void PairMLFFStudent::plan_direct_exchange() {
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost, nprocs = comm->nprocs;
  ghost_owners.resize(2 * static_cast<std::size_t>(nall));
  for (int i = 0; i < nlocal; i++) {
    ghost_owners[2 * i] = comm->me;
    ghost_owners[2 * i + 1] = i;
  }
  find_ghost_owners();

  exchange_plan = mlff::ExchangePlan();
  std::vector<int> asked_of(nprocs, 0);
  for (int i = nlocal; i < nall; i++) {
    const int owner = static_cast<int>(ghost_owners[2 * i]);
    if (owner == comm->me) {
      exchange_plan.image_rows.push_back(i);
      exchange_plan.image_owners.push_back(static_cast<int>(ghost_owners[2 * i + 1]));
    } else {
      asked_of[owner]++;
    }
  }
  std::vector<int> ask_start(nprocs + 1, 0);
  for (int r = 0; r < nprocs; r++) ask_start[r + 1] = ask_start[r] + asked_of[r];
  std::vector<int> asked_rows(ask_start[nprocs]), ghost_rows(ask_start[nprocs]);
  std::vector<int> fill(ask_start.begin(), ask_start.end() - 1);
  for (int i = nlocal; i < nall; i++) {
    const int owner = static_cast<int>(ghost_owners[2 * i]);
    if (owner == comm->me) continue;
    asked_rows[fill[owner]] = static_cast<int>(ghost_owners[2 * i + 1]);
    ghost_rows[fill[owner]++] = i;
  }
  std::vector<int> asked_by(nprocs);
  MPI_Alltoall(asked_of.data(), 1, MPI_INT, asked_by.data(), 1, MPI_INT, world);
  std::vector<int> give_start(nprocs + 1, 0);
  for (int r = 0; r < nprocs; r++) give_start[r + 1] = give_start[r] + asked_by[r];
  std::vector<int> given_rows(give_start[nprocs]);
  MPI_Alltoallv(asked_rows.data(), asked_of.data(), ask_start.data(), MPI_INT, given_rows.data(),
                asked_by.data(), give_start.data(), MPI_INT, world);
  for (int r = 0; r < nprocs; r++) {
    if (asked_of[r] == 0 && asked_by[r] == 0) continue;
    mlff::ExchangePlan::Peer peer;
    peer.rank = r;
    peer.send_rows.assign(given_rows.begin() + give_start[r],
                          given_rows.begin() + give_start[r + 1]);
    peer.recv_rows.assign(ghost_rows.begin() + ask_start[r], ghost_rows.begin() + ask_start[r + 1]);
    exchange_plan.peers.push_back(std::move(peer));
  }
  if (nccl) nccl->set_plan(exchange_plan);
}

void PairMLFFStudent::find_ghost_owners() {
  comm_owners = true;
  comm->forward_comm(this, 2);
  comm_owners = false;
}

// Rows go straight to and come straight from the ranks in the plan, over MPI from host memory
// (from a GPU only the rows named move).
void PairMLFFStudent::exchange_directly(const mlff::FeatureRows& rows, bool forward) {
  const int w = rows.width;
  std::size_t out_rows = exchange_plan.image_rows.size(), in_rows = 0;
  for (const auto& peer : exchange_plan.peers) {
    out_rows += (forward ? peer.send_rows : peer.recv_rows).size();
    in_rows += (forward ? peer.recv_rows : peer.send_rows).size();
  }
  direct_out.resize(out_rows * w);
  direct_in.resize(in_rows * w);
  std::vector<MPI_Request> requests;
  std::size_t out_at = 0, in_at = 0;
  for (const auto& peer : exchange_plan.peers) {
    const std::vector<int>& in_list = forward ? peer.recv_rows : peer.send_rows;
    if (in_list.empty()) continue;
    requests.emplace_back();
    MPI_Irecv(&direct_in[in_at * w], static_cast<int>(in_list.size()) * w, MPI_DOUBLE, peer.rank, 0,
              world, &requests.back());
    in_at += in_list.size();
  }
  for (const auto& peer : exchange_plan.peers) {
    const std::vector<int>& out_list = forward ? peer.send_rows : peer.recv_rows;
    if (out_list.empty()) continue;
    mlff::gather_rows(rows, out_list.data(), static_cast<int>(out_list.size()),
                      &direct_out[out_at * w]);
    requests.emplace_back();
    MPI_Isend(&direct_out[out_at * w], static_cast<int>(out_list.size()) * w, MPI_DOUBLE, peer.rank,
              0, world, &requests.back());
    out_at += out_list.size();
  }
  // Periodic images of this rank's own atoms, while the messages travel.
  const auto& images = exchange_plan.image_rows;
  const auto& owners = exchange_plan.image_owners;
  const int n_images = static_cast<int>(images.size());
  double* image_buffer = direct_out.data() + out_at * w;
  mlff::gather_rows(rows, forward ? owners.data() : images.data(), n_images, image_buffer);
  if (forward)
    mlff::scatter_rows(rows, images.data(), n_images, image_buffer);
  else
    mlff::add_to_rows(rows, owners.data(), n_images, image_buffer);
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  in_at = 0;
  for (const auto& peer : exchange_plan.peers) {
    const std::vector<int>& in_list = forward ? peer.recv_rows : peer.send_rows;
    const int n = static_cast<int>(in_list.size());
    if (forward)
      mlff::scatter_rows(rows, in_list.data(), n, &direct_in[in_at * w]);
    else
      mlff::add_to_rows(rows, in_list.data(), n, &direct_in[in_at * w]);
    in_at += in_list.size();
  }
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
  return ghost_nodes && !force->newton_pair;
}

void PairMLFFStudent::sum_ghost_rows_on_host(int virial_width) {
  reverse_virial_width = virial_width;
  comm->reverse_comm(this);
}

int PairMLFFStudent::rows_to_add() const {
  return (ghost_nodes && force->newton_pair) ? atom->nlocal + atom->nghost : atom->nlocal;
}

void PairMLFFStudent::finish() {
  if (!profile) return;
  if (comm->me == 0)
    utils::logmesg(lmp, "mlff/student time per stage on rank 0 (MLFF_STUDENT_PROFILE):\n{}",
                   profile->report());
  profile->reset();
}

int PairMLFFStudent::FeatureComm::owned_rows() const {
  return pair.atom->nlocal;
}

// Feature rows pass through the same pack and unpack functions as node rows, which tell them
// apart by comm_features.
void PairMLFFStudent::communicate_features(const mlff::FeatureRows& rows, bool forward) {
  if (rows.width != feature_width)
    error->one(FLERR, "mlff/student: the model exchanges {} words per atom, not the {} set up",
               rows.width, feature_width);
  // A profile splits an exchange into waiting for the other ranks to reach it (their compute
  // takes longer) and the communication itself.
  double start = 0.0, reached = 0.0;
  if (profile) {
    finish_device_work();
    start = platform::walltime();
    MPI_Barrier(world);
    reached = platform::walltime();
  }
  if (exchange_comm == ExchangeComm::Nccl) {
    if (forward)
      nccl->refresh_ghosts(rows);
    else
      nccl->fold_ghosts(rows);
  } else if (exchange_comm == ExchangeComm::Direct) {
    exchange_directly(rows, forward);
  } else {
    comm_features = true;
    features = rows;
    if (forward)
      comm->forward_comm(this, rows.width);
    else
      comm->reverse_comm(this, rows.width);
    comm_features = false;
    features = mlff::FeatureRows();
  }
  if (profile) {
    finish_device_work();
    profile->add_part("exchange: waiting", reached - start);
    profile->add_part("exchange: communication", platform::walltime() - reached);
  }
}

int PairMLFFStudent::pack_forward_comm(int n, int* list, double* buf, int, int*) {
  if (comm_owners) {
    for (int k = 0; k < n; k++) {
      buf[2 * k] = ghost_owners[2 * list[k]];
      buf[2 * k + 1] = ghost_owners[2 * list[k] + 1];
    }
    return 2 * n;
  }
  mlff::gather_rows(features, list, n, buf);
  return n * features.width;
}

void PairMLFFStudent::unpack_forward_comm(int n, int first, double* buf) {
  if (comm_owners) {
    std::copy(buf, buf + 2 * n, ghost_owners.begin() + 2 * static_cast<std::size_t>(first));
    return;
  }
  mlff::copy_rows_in(features, first, n, buf);
}

int PairMLFFStudent::pack_reverse_comm(int n, int first, double* buf) {
  if (comm_features) {
    mlff::copy_rows_out(features, first, n, buf);
    return n * features.width;
  }
  int m = 0;
  for (int i = first; i < first + n; i++) {
    for (int a = 0; a < 3; a++) buf[m++] = node_force[3 * i + a];
    for (int k = 0; k < reverse_virial_width; k++)
      buf[m++] = node_virial[reverse_virial_width * i + k];
  }
  return m;
}

// Received rows may belong to ghosts that a later (earlier-numbered) swap forwards again, so they
// are summed into the node rows that pack_reverse_comm reads.
void PairMLFFStudent::unpack_reverse_comm(int n, int* list, double* buf) {
  if (comm_features) {
    mlff::add_to_rows(features, list, n, buf);
    return;
  }
  int m = 0;
  for (int i = 0; i < n; i++) {
    const int j = list[i];
    for (int a = 0; a < 3; a++) node_force[3 * j + a] += buf[m++];
    for (int k = 0; k < reverse_virial_width; k++)
      node_virial[reverse_virial_width * j + k] += buf[m++];
  }
}
