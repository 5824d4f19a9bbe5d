// Prints src/model/contract.h as JSON, for the cross-language test beside it.

#include <iostream>
#include <string>

#include "model/contract.h"

namespace {

template <class List>
std::string json_list(const List& items) {
  std::string out = "[";
  for (const char* item : items) out += (out.size() > 1 ? ", \"" : "\"") + std::string(item) + "\"";
  return out + "]";
}

std::string quoted(const char* text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

int main() {
  namespace c = mlff::contract;
  std::cout << "{\"format_version\": " << c::kFormatVersion
            << ", \"metadata_name\": " << quoted(c::kMetadataName)
            << ", \"required_keys\": " << json_list(c::kRequiredKeys)
            << ", \"optional_keys\": " << json_list(c::kOptionalKeys)
            << ", \"formats\": " << json_list(c::kFormats)
            << ", \"devices\": " << json_list(c::kDevices)
            << ", \"dtypes\": " << json_list(c::kDtypes)
            << ", \"torchscript_methods\": " << json_list(c::kTorchScriptMethods)
            << ", \"package_model\": " << quoted(c::kPackageModel)
            << ", \"package_exchange_model\": " << quoted(c::kPackageExchangeModel)
            << ", \"inputs\": " << json_list(c::kInputs)
            << ", \"outputs\": " << json_list(c::kOutputs)
            << ", \"ghost_features_op\": " << quoted(c::kGhostFeaturesOp)
            << ", \"ghost_gradients_op\": " << quoted(c::kGhostGradientsOp) << "}\n";
}
