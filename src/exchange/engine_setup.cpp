#include "exchange/engine_setup.h"

#include <algorithm>
#include <cstdio>

#include "exchange/nccl_transport.h"

namespace mlff {

ExchangeFacts gather_facts(GhostMode ghosts, Transport transport, const ModelMetadata& meta,
                           const std::string& model, MPI_Comm world, int rows_gpu,
                           bool engine_comm_on_device) {
  ExchangeFacts facts;
  facts.ghosts_asked = ghosts;
  facts.transport_asked = transport;
  MPI_Comm_size(world, &facts.ranks);
  facts.model_name = model;
  facts.model_has_exchange = meta.ghost_exchange;
  facts.rows_on_gpu = rows_gpu >= 0;
  facts.nccl_built = NcclTransport::available();
  if (transport == Transport::Auto && facts.ranks > 1)
    facts.nccl_usable = NcclTransport::usable(world, rows_gpu);
  facts.engine_comm_on_device = engine_comm_on_device;
  return facts;
}

std::string exchange_log_line(const ExchangeChoice& choice, const ModelMetadata& meta, int words,
                              bool float64) {
  return "ghost features exchanged before each of " + std::to_string(meta.num_interactions - 1) +
         " interactions (" + std::to_string(8 * words) + " bytes per atom, " +
         (float64 ? "float64" : "float32") + "), " + describe(choice.transport);
}

std::string deep_shell_refusal(const ModelMetadata& meta, double need, double length) {
  char text[400];
  std::snprintf(text, sizeof text,
                "on several ranks needs ghost atoms %g A deep (%d interactions x %g A + skin), "
                "more than the periodic box length %g A, which comm_style tiled cannot give: use "
                "comm_style brick (the default)",
                need, meta.num_interactions, meta.cutoff, length);
  return text;
}

std::string ghost_load_warning(MPI_Comm world, int nlocal, int nghost, double shell) {
  constexpr double kGhostsPerAtom = 10.0;
  const double mine[2] = {double(nlocal), double(nghost)};
  double all[2];
  MPI_Allreduce(mine, all, 2, MPI_DOUBLE, MPI_SUM, world);
  int ranks = 1;
  MPI_Comm_size(world, &ranks);
  char text[400];
  if (ranks == 1) {
    std::snprintf(text, sizeof text,
                  "ghosts deep on one rank makes its %.0f ghost atoms graph nodes beside %.0f "
                  "atoms and computes every ghost's messages; the default on one rank, ghosts "
                  "folded onto the atoms they image, gives the same numbers in a fraction of the "
                  "memory and time: leave 'ghosts deep' out",
                  all[1], all[0]);
    return text;
  }
  if (all[1] <= kGhostsPerAtom * all[0]) return "";
  std::snprintf(text, sizeof text,
                "the %d ranks hold %.0f ghost atoms for %.0f atoms (%.0f per atom), and every "
                "ghost's messages are computed: this run is far slower than on fewer ranks. Use "
                "fewer ranks, or give each a subdomain much larger than the %g A ghost shell",
                ranks, all[1], all[0], all[1] / std::max(all[0], 1.0), shell);
  return text;
}

}  // namespace mlff
