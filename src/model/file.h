#pragma once

#include <string>

namespace mlff {

enum class ModelFormat { TorchScript, Aoti };

// What a model file is, told from its contents rather than its name (both formats are zip
// archives), after checking that it is whole. A package's shared libraries are checked before
// the dynamic loader maps them: mapping a truncated library kills the process with SIGBUS
// instead of failing. Throws mlff::Error saying what is wrong and what to do.
ModelFormat inspect_model_file(const std::string& path);

}  // namespace mlff
