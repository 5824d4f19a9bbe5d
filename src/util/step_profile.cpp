#include "util/step_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mlff {

bool StepProfile::requested() {
  const char* value = std::getenv("MLFF_STUDENT_PROFILE");
  return value && std::strcmp(value, "0") != 0 && *value;
}

void StepProfile::accumulate(std::vector<std::pair<std::string, double>>& list, const char* name,
                             double seconds) {
  for (auto& [known, total] : list)
    if (known == name) {
      total += seconds;
      return;
    }
  list.emplace_back(name, seconds);
}

void StepProfile::add(const char* stage, double seconds) {
  accumulate(stages_, stage, seconds);
}

void StepProfile::add_part(const char* part, double seconds) {
  accumulate(parts_, part, seconds);
}

std::string StepProfile::report() const {
  double sum = 0.0;
  for (const auto& [name, total] : stages_) sum += total;
  std::string out;
  char line[160];
  for (const auto& [name, total] : stages_) {
    std::snprintf(line, sizeof line, "  %-22s %10.4f s %10.4f ms/step %6.1f %%\n", name.c_str(),
                  total, steps_ ? 1e3 * total / steps_ : 0.0, sum > 0 ? 100.0 * total / sum : 0.0);
    out += line;
  }
  if (!parts_.empty()) out += "  within these:\n";
  for (const auto& [name, total] : parts_) {
    std::snprintf(line, sizeof line, "  %-22s %10.4f s %10.4f ms/step\n", name.c_str(), total,
                  steps_ ? 1e3 * total / steps_ : 0.0);
    out += line;
  }
  return out;
}

void StepProfile::reset() {
  parts_.clear();
  stages_.clear();
  steps_ = 0;
}

}  // namespace mlff
