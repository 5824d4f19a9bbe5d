#include "model/metadata.h"

#include <sstream>

#include "model/contract.h"
#include "util/error.h"

namespace mlff {

namespace {

const std::string& require(const std::map<std::string, std::string>& entries,
                           const std::string& key) {
  auto it = entries.find(key);
  if (it == entries.end()) throw Error("model metadata lacks '" + key + "'");
  return it->second;
}

template <typename T>
T number(const std::map<std::string, std::string>& entries, const std::string& key) {
  const std::string& text = require(entries, key);
  std::istringstream in(text);
  T value{};
  if (!(in >> value) || !(in >> std::ws).eof())
    throw Error("model metadata '" + key + "' is not a number: '" + text + "'");
  return value;
}

}  // namespace

ModelMetadata ModelMetadata::parse(const std::string& text) {
  ModelMetadata meta;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) throw Error("malformed model metadata line: '" + line + "'");
    meta.entries[line.substr(0, eq)] = line.substr(eq + 1);
  }
  meta.format_version = number<int>(meta.entries, "format_version");
  if (meta.format_version != contract::kFormatVersion)
    throw Error("model format version " + std::to_string(meta.format_version) +
                " is not supported (this build reads version " +
                std::to_string(contract::kFormatVersion) +
                "): re-export the model with this version's python -m mlff_student");
  for (const char* key : contract::kRequiredKeys) require(meta.entries, key);
  meta.cutoff = number<double>(meta.entries, "cutoff");
  meta.num_interactions = number<int>(meta.entries, "num_interactions");
  meta.max_z = number<int>(meta.entries, "max_z");
  meta.dtype = require(meta.entries, "dtype");
  meta.format = require(meta.entries, "format");
  meta.precision = parse_precision(require(meta.entries, "precision"));
  meta.device = require(meta.entries, "device");
  const auto one_of = [](const std::string& value, const auto& allowed) {
    for (const char* a : allowed)
      if (value == a) return true;
    return false;
  };
  if (!(meta.cutoff > 0.0)) throw Error("model cutoff must be positive");
  if (meta.num_interactions < 1) throw Error("model must have at least one interaction");
  if (meta.max_z < 1) throw Error("model max_z must be at least 1");
  if (!one_of(meta.dtype, contract::kDtypes))
    throw Error("model dtype '" + meta.dtype + "' is not float32 or float64");
  if (!one_of(meta.format, contract::kFormats))
    throw Error("model format '" + meta.format + "' is not torchscript or aoti");
  if (!one_of(meta.device, contract::kDevices))
    throw Error("model device '" + meta.device + "' is not any, cpu or cuda");
  const auto exchange = meta.entries.find("ghost_exchange");
  if (exchange != meta.entries.end() && exchange->second == "1") {
    if (meta.entries.count("exchange_values"))
      meta.exchange_values = number<int>(meta.entries, "exchange_values");
    else if (meta.entries.count("hidden_dim"))
      meta.exchange_values =
          contract::legacy_exchange_values(number<int>(meta.entries, "hidden_dim"));
  }
  meta.ghost_exchange = meta.exchange_values > 0;
  const auto elements = meta.entries.find("elements");
  if (elements != meta.entries.end()) {
    std::istringstream list(elements->second);
    std::string symbol;
    while (std::getline(list, symbol, ','))
      if (!symbol.empty()) meta.trained_elements.push_back(symbol);
  }
  return meta;
}

}  // namespace mlff
