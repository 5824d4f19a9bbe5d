#include "style/style_options.h"

#include <cstdlib>

#include "util/error.h"

namespace mlff {

namespace {

double non_negative_length(const std::string& value) {
  char* end = nullptr;
  const double length = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(length >= 0.0))
    throw Error("min_distance must be >= 0 (0 turns the overlap check off), not " + value);
  return length;
}

bool yes_or_no(const std::string& key, const std::string& value) {
  if (value == "yes" || value == "on" || value == "true" || value == "1") return true;
  if (value == "no" || value == "off" || value == "false" || value == "0") return false;
  throw Error(key + " must be yes or no, not " + value);
}

}  // namespace

void StyleOptions::set(const std::string& key, const char* given) {
  bool known = false;
  for (const char* k : {"device", "precision", "cuda_graph", "deterministic", "min_distance",
                        "ghosts", "exchange_comm"})
    known = known || key == k;
  if (!known) throw Error("Illegal pair_style mlff/student argument: " + key);
  if (!given) throw Error(key + " needs a value");
  const std::string value = given;
  if (key == "device")
    runner.device = parse_device(value);
  else if (key == "precision")
    runner.precision = parse_precision(value);
  else if (key == "cuda_graph")
    runner.cuda_graph = parse_cuda_graph_mode(value);
  else if (key == "deterministic")
    runner.deterministic = yes_or_no(key, value);
  else if (key == "min_distance")
    min_distance = non_negative_length(value);
  else if (key == "ghosts")
    ghosts = parse_ghost_mode(value);
  else
    transport = parse_transport(value);
}

void StyleOptions::pin_device(Device here) {
  const bool gpu = here == Device::CUDA;
  if (runner.device && *runner.device != here)
    throw Error(std::string("Kokkos keeps the atoms in ") + (gpu ? "GPU" : "host") +
                " memory here, so the model must run with device " + device_name(here) + ", not " +
                device_name(*runner.device) + " (or use pair_style mlff/student)");
  if (runner.cuda_graph == CudaGraphMode::On && !gpu)
    throw Error(
        "cuda_graph yes needs Kokkos on a GPU (-k on g 1 -sf kk); leave it out on the host");
  runner.device = here;
  runner.cuda_device = -1;
  if (!gpu) runner.cuda_graph = CudaGraphMode::Off;
}

int node_rank(MPI_Comm world) {
  int me = 0, rank = 0;
  MPI_Comm_rank(world, &me);
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, me, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

}  // namespace mlff
