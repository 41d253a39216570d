#pragma once
/// \file Named profiling ranges: `PAT_PROFILE_SCOPE("catseg.decoder")` marks the rest of the enclosing
/// block as one module for profilers that observe LibTorch's RecordFunction (engine/bench/op_profiler.h,
/// torch.profiler, Kineto). It costs one thread-local check when nothing observes. Names are
/// "<area>.<module>" string literals; bench_model --profile groups its module table by them.

#include <ATen/record_function.h>

#define PAT_PROFILE_CONCAT_INNER(a, b) a##b
#define PAT_PROFILE_CONCAT(a, b) PAT_PROFILE_CONCAT_INNER(a, b)

/// Marks the enclosing block as the module `name` (a string literal).
#define PAT_PROFILE_SCOPE(name)                                                                     \
  at::RecordFunction PAT_PROFILE_CONCAT(pat_profile_scope_, __LINE__)(at::RecordScope::USER_SCOPE); \
  if (PAT_PROFILE_CONCAT(pat_profile_scope_, __LINE__).isActive())                                  \
  PAT_PROFILE_CONCAT(pat_profile_scope_, __LINE__).before(name, c10::ArrayRef<const c10::IValue>{})
