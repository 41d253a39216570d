#pragma once
/// \file A small operator profiler over LibTorch's RecordFunction (works with LibTorch 1.x and 2.x, CPU
/// or CUDA launches): per operator and per module scope (PAT_PROFILE_SCOPE, core/profile_scope.h) call
/// counts, total and self wall time, and FLOPs of the matrix products, convolutions and attention.
///
/// FLOPs count a multiply-add as 2 and are taken at the outermost counted operator (aten::mm, addmm,
/// bmm, baddbmm, where every linear and matmul ends; convolution, convolution_backward,
/// scaled_dot_product_attention), so each product is counted once. Element-wise work, normalizations and softmax are
/// not counted. Only the thread that started the profiler is observed (LibTorch runs CPU autograd on the
/// calling thread; intra-op worker threads run kernels, not operators).

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/ivalue.h>
#include <c10/util/ArrayRef.h>

namespace pat::engine {

/// Totals of one operator name (e.g. aten::addmm) or one module scope (e.g. catseg.decoder).
struct ProfileStat {
  std::string name;
  int64_t calls = 0;
  double total_ms = 0;  ///< wall time between start and end, children included
  double self_ms = 0;   ///< operators: minus child operators; scopes: minus nested scopes
  double gflop = 0;     ///< counted FLOPs (operators: own; scopes: of every operator inside, nested scopes excluded)
};

struct ProfileReport {
  std::vector<ProfileStat> ops;     ///< by self time, descending
  std::vector<ProfileStat> scopes;  ///< by self time, descending
  double wall_ms = 0;               ///< from start to stop
  double gflop = 0;                 ///< all counted FLOPs
  double unscoped_ms = 0;           ///< wall time outside every module scope
};

/// Observes operators between `start` and `stop`. One profiler at a time per process.
class OpProfiler {
 public:
  OpProfiler() = default;
  ~OpProfiler();
  OpProfiler(const OpProfiler&) = delete;
  OpProfiler& operator=(const OpProfiler&) = delete;

  /// Starts observing the calling thread. `record_inputs`: needed for FLOPs (costs a copy of every
  /// operator's arguments; timings are then a little pessimistic).
  void start(bool record_inputs = true);
  /// Stops and returns what was observed.
  ProfileReport stop();

 private:
  bool running_ = false;
  uint64_t handle_ = 0;
};

/// FLOPs of one call of operator `name` with `inputs` (0 for operators that are not counted).
double op_flops(const std::string& name, c10::ArrayRef<const c10::IValue> inputs);

/// Whether `name` is one of the operators whose FLOPs are counted.
bool is_counted_op(const std::string& name);

/// Markdown tables: the `top` operators by self time; every scope (with its share of the wall time).
std::string format_op_table(const ProfileReport& report, size_t top);
std::string format_scope_table(const ProfileReport& report);

}  // namespace pat::engine
