#include "pat/engine/bench/op_profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include <ATen/record_function.h>

#include "pat/core/error.h"

namespace pat::engine {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Frame {
  std::string name;
  bool scope = false;
  Clock::time_point start;
  double child_ms = 0;  ///< operators: time of child operators; scopes: of nested scopes
  double flops = 0;     ///< this operator's counted FLOPs (outermost counted operators only)
  bool counted = false;
};

struct State {
  std::thread::id owner;
  Clock::time_point start;
  std::vector<Frame> stack;
  std::map<std::string, ProfileStat> ops, scopes;
  int counted_depth = 0;
  double flops = 0, scoped_ms = 0;
  bool active = false;
};

State& state() {
  static State s;
  return s;
}

struct Context : at::ObserverContext {};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto& s = state();
  if (!s.active || std::this_thread::get_id() != s.owner) return nullptr;
  Frame f;
  f.name = fn.name();
  f.scope = fn.scope() == at::RecordScope::USER_SCOPE;
  if (!f.scope && s.counted_depth == 0 && is_counted_op(f.name)) {
    f.flops = fn.needsInputs() ? op_flops(f.name, fn.inputs()) : 0.0;
    f.counted = true;
    ++s.counted_depth;
  } else if (!f.scope && is_counted_op(f.name)) {
    f.counted = true;  // nested in a counted operator: its FLOPs are already counted
    ++s.counted_depth;
  }
  f.start = Clock::now();
  s.stack.push_back(std::move(f));
  return std::make_unique<Context>();
}

void on_end(const at::RecordFunction& /*fn*/, at::ObserverContext* ctx) {
  auto& s = state();
  if (ctx == nullptr || !s.active || std::this_thread::get_id() != s.owner || s.stack.empty()) return;
  const auto now = Clock::now();
  Frame f = std::move(s.stack.back());
  s.stack.pop_back();
  const double elapsed = ms_between(f.start, now);
  if (f.counted) --s.counted_depth;
  // The innermost enclosing scope (for FLOPs) and the parent frame of the same kind (for self time).
  Frame* parent_op = nullptr;
  Frame* parent_scope = nullptr;
  for (auto it = s.stack.rbegin(); it != s.stack.rend(); ++it) {
    if (!it->scope && !parent_op && !f.scope) parent_op = &*it;
    if (it->scope && !parent_scope) parent_scope = &*it;
    if (parent_scope && (parent_op || f.scope)) break;
  }
  if (f.scope) {
    auto& stat = s.scopes[f.name];
    stat.name = f.name;
    ++stat.calls;
    stat.total_ms += elapsed;
    stat.self_ms += elapsed - f.child_ms;
    if (parent_scope)
      parent_scope->child_ms += elapsed;
    else
      s.scoped_ms += elapsed;
    return;
  }
  auto& stat = s.ops[f.name];
  stat.name = f.name;
  ++stat.calls;
  stat.total_ms += elapsed;
  stat.self_ms += elapsed - f.child_ms;
  stat.gflop += f.flops * 1e-9;
  if (parent_op) parent_op->child_ms += elapsed;
  if (f.flops > 0) {
    s.flops += f.flops;
    if (parent_scope) s.scopes[parent_scope->name].gflop += f.flops * 1e-9;
  }
}

std::vector<int64_t> int_list(const c10::IValue& v) {
  if (v.isIntList()) return v.toIntVector();
  return {};
}

const at::Tensor* tensor_at(c10::ArrayRef<const c10::IValue> inputs, size_t i) {
  if (i >= inputs.size() || !inputs[i].isTensor()) return nullptr;
  const auto& t = inputs[i].toTensor();
  return t.defined() ? &t : nullptr;
}

double product(c10::IntArrayRef sizes, size_t from, size_t to) {
  double p = 1;
  for (size_t i = from; i < to && i < sizes.size(); ++i) p *= static_cast<double>(sizes[i]);
  return p;
}

/// 2 * N * weight elements * (output positions, or input positions for a transposed convolution).
double convolution_flops(const at::Tensor& input, const at::Tensor& weight, const std::vector<int64_t>& stride,
                         const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, bool transposed,
                         const at::Tensor* output) {
  const int64_t spatial = input.dim() - 2;
  if (spatial < 1 || weight.dim() != input.dim()) return 0;
  double positions = 1;
  for (int64_t d = 0; d < spatial; ++d) {
    const int64_t in = input.size(2 + d);
    if (transposed) {
      positions *= static_cast<double>(in);
    } else if (output != nullptr && output->dim() == input.dim()) {
      positions *= static_cast<double>(output->size(2 + d));
    } else {
      auto at_or = [&](const std::vector<int64_t>& v, int64_t fallback) {
        if (v.empty()) return fallback;
        return v.size() == 1 ? v[0] : v[static_cast<size_t>(d)];
      };
      const int64_t s = at_or(stride, 1), p = at_or(padding, 0), dl = at_or(dilation, 1);
      const int64_t k = weight.size(2 + d);
      positions *= static_cast<double>(std::max<int64_t>((in + 2 * p - dl * (k - 1) - 1) / s + 1, 0));
    }
  }
  return 2.0 * static_cast<double>(input.size(0)) * static_cast<double>(weight.numel()) * positions;
}

}  // namespace

bool is_counted_op(const std::string& name) {
  // The matrix-product leaves (linear and matmul end in them, so their time and FLOPs meet in one row),
  // convolutions at their entry point, and fused attention.
  static const char* const kOps[] = {"aten::mm",
                                     "aten::addmm",
                                     "aten::bmm",
                                     "aten::baddbmm",
                                     "aten::convolution",
                                     "aten::_convolution",
                                     "aten::convolution_backward",
                                     "aten::scaled_dot_product_attention",
                                     "pat::catseg_bmm",
                                     "pat::window_attention",
                                     "pat::linear"};
  for (const char* op : kOps)
    if (name == op) return true;
  return false;
}

double op_flops(const std::string& name, c10::ArrayRef<const c10::IValue> inputs) {
  if (name == "aten::mm" || name == "aten::bmm" || name == "aten::addmm" || name == "aten::baddbmm" ||
      name == "aten::matmul" || name == "pat::catseg_bmm") {
    const size_t first = (name == "aten::addmm" || name == "aten::baddbmm") ? 1 : 0;
    const auto* a = tensor_at(inputs, first);
    const auto* b = tensor_at(inputs, first + 1);
    if (!a || !b || a->dim() < 1 || b->dim() < 1) return 0;
    // [..., m, k] x [..., k, n]; vectors count as a single row / column; batch dims broadcast.
    const double k = static_cast<double>(a->size(-1));
    const double m = a->dim() >= 2 ? static_cast<double>(a->size(-2)) : 1.0;
    const double n = b->dim() >= 2 ? static_cast<double>(b->size(-1)) : 1.0;
    const double batch = std::max(product(a->sizes(), 0, std::max<int64_t>(a->dim() - 2, 0)),
                                  product(b->sizes(), 0, std::max<int64_t>(b->dim() - 2, 0)));
    return 2.0 * batch * m * k * n;
  }
  if (name == "aten::linear" || name == "pat::linear") {
    const auto* x = tensor_at(inputs, 0);
    const auto* w = tensor_at(inputs, 1);
    if (!x || !w || w->dim() != 2) return 0;
    return 2.0 * static_cast<double>(x->numel()) * static_cast<double>(w->size(0));
  }
  if (name == "aten::convolution" || name == "aten::_convolution") {
    const auto* x = tensor_at(inputs, 0);
    const auto* w = tensor_at(inputs, 1);
    if (!x || !w || inputs.size() < 7) return 0;
    const bool transposed = inputs[6].isBool() && inputs[6].toBool();
    return convolution_flops(*x, *w, int_list(inputs[3]), int_list(inputs[4]), int_list(inputs[5]), transposed,
                             nullptr);
  }
  if (name == "aten::convolution_backward") {
    // (grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed, output_padding,
    //  groups, output_mask): one forward's FLOPs for the input gradient, one for the weight gradient.
    const auto* grad = tensor_at(inputs, 0);
    const auto* x = tensor_at(inputs, 1);
    const auto* w = tensor_at(inputs, 2);
    if (!grad || !x || !w || inputs.size() < 11) return 0;
    const bool transposed = inputs[7].isBool() && inputs[7].toBool();
    const double forward = convolution_flops(*x, *w, {}, {}, {}, transposed, grad);
    double passes = 2;
    if (inputs[10].isBoolList()) {
      const auto mask = inputs[10].toBoolList();
      passes = (mask.size() > 0 && mask.get(0) ? 1 : 0) + (mask.size() > 1 && mask.get(1) ? 1 : 0);
    }
    return forward * passes;
  }
  if (name == "aten::scaled_dot_product_attention" || name == "pat::window_attention") {
    const auto* q = tensor_at(inputs, 0);
    const auto* k = tensor_at(inputs, 1);
    const auto* v = tensor_at(inputs, 2);
    if (!q || !k || !v || q->dim() < 2) return 0;
    const double batch = product(q->sizes(), 0, q->dim() - 2);
    const double l = static_cast<double>(q->size(-2)), s = static_cast<double>(k->size(-2));
    return 2.0 * batch * l * s * static_cast<double>(q->size(-1) + v->size(-1));
  }
  return 0;
}

OpProfiler::~OpProfiler() {
  if (running_) stop();
}

void OpProfiler::start(bool record_inputs) {
  auto& s = state();
  PAT_CHECK(!s.active, "OpProfiler: another profiler is already running");
  s = State{};
  s.owner = std::this_thread::get_id();
  s.active = true;
  s.start = Clock::now();
  auto callback = at::RecordFunctionCallback(&on_start, &on_end).needsInputs(record_inputs);
  handle_ = at::addThreadLocalCallback(callback);
  running_ = true;
}

ProfileReport OpProfiler::stop() {
  PAT_CHECK(running_, "OpProfiler: stop without start");
  at::removeCallback(handle_);
  running_ = false;
  auto& s = state();
  ProfileReport report;
  report.wall_ms = ms_between(s.start, Clock::now());
  report.gflop = s.flops * 1e-9;
  report.unscoped_ms = report.wall_ms - s.scoped_ms;
  for (auto& [name, stat] : s.ops) report.ops.push_back(stat);
  for (auto& [name, stat] : s.scopes) report.scopes.push_back(stat);
  auto by_self = [](const ProfileStat& a, const ProfileStat& b) { return a.self_ms > b.self_ms; };
  std::sort(report.ops.begin(), report.ops.end(), by_self);
  std::sort(report.scopes.begin(), report.scopes.end(), by_self);
  s = State{};
  return report;
}

std::string format_op_table(const ProfileReport& report, size_t top) {
  std::string out = "| operator | calls | self ms | self % | total ms | GFLOP | GFLOP/s (self) |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|\n";
  char line[256];
  for (size_t i = 0; i < report.ops.size() && i < top; ++i) {
    const auto& o = report.ops[i];
    std::snprintf(line, sizeof(line), "| %s | %lld | %.1f | %.1f | %.1f | %.2f | %.1f |\n", o.name.c_str(),
                  static_cast<long long>(o.calls), o.self_ms, 100.0 * o.self_ms / std::max(report.wall_ms, 1e-9),
                  o.total_ms, o.gflop, o.self_ms > 0 ? o.gflop / (o.self_ms * 1e-3) : 0.0);
    out += line;
  }
  return out;
}

std::string format_scope_table(const ProfileReport& report) {
  std::string out = "| module | calls | self ms | self % | GFLOP | GFLOP/s |\n|---|---:|---:|---:|---:|---:|\n";
  char line[256];
  double scoped_gflop = 0;
  for (const auto& sc : report.scopes) {
    scoped_gflop += sc.gflop;
    std::snprintf(line, sizeof(line), "| %s | %lld | %.1f | %.1f | %.2f | %.1f |\n", sc.name.c_str(),
                  static_cast<long long>(sc.calls), sc.self_ms, 100.0 * sc.self_ms / std::max(report.wall_ms, 1e-9),
                  sc.gflop, sc.self_ms > 0 ? sc.gflop / (sc.self_ms * 1e-3) : 0.0);
    out += line;
  }
  const double other_gflop = report.gflop - scoped_gflop;
  std::snprintf(line, sizeof(line), "| (outside modules) | - | %.1f | %.1f | %.2f | %.1f |\n", report.unscoped_ms,
                100.0 * report.unscoped_ms / std::max(report.wall_ms, 1e-9), other_gflop,
                report.unscoped_ms > 0 ? other_gflop / (report.unscoped_ms * 1e-3) : 0.0);
  out += line;
  return out;
}

}  // namespace pat::engine
