#pragma once

#include <cuda_runtime_api.h>

namespace mlff {

// Throws mlff::Error "<what> failed: <CUDA's message>" unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* what);

}  // namespace mlff
