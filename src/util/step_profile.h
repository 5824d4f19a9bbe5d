#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mlff {

// Wall time per stage of a step, summed over the steps of a run. Switched on by the environment
// variable MLFF_STUDENT_PROFILE=1; device stages are then synchronized, which costs a little.
class StepProfile {
 public:
  static bool requested();

  void add(const char* stage, double seconds);
  // Time spent within a stage, e.g. the ghost exchanges within the model's run: reported after
  // the stages, and not summed again.
  void add_part(const char* part, double seconds);
  void count_step() { ++steps_; }
  // One line per stage: total seconds, milliseconds per step, share of the summed stages; then
  // one line per part.
  std::string report() const;
  void reset();

 private:
  static void accumulate(std::vector<std::pair<std::string, double>>& list, const char* name,
                         double seconds);
  std::vector<std::pair<std::string, double>> stages_, parts_;
  long steps_ = 0;
};

// Adds the time from construction (or the last lap) to a stage.
class StageClock {
 public:
  explicit StageClock(StepProfile* profile) : profile_(profile), start_(now()) {}
  void lap(const char* stage) {
    if (!profile_) return;
    const auto t = now();
    profile_->add(stage, std::chrono::duration<double>(t - start_).count());
    start_ = t;
  }

 private:
  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  StepProfile* profile_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mlff
