#include "util/cuda_check.h"

#include <string>

#include "util/error.h"

namespace mlff {

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw Error(std::string(what) + " failed: " + cudaGetErrorString(status));
}

}  // namespace mlff
