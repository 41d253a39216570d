#pragma once
/// \file A Python pickle reader for the data torch.save writes (protocols 0-5, no code execution).
///
/// Classes are never imported or called: a few globals are understood (OrderedDict, torch's tensor
/// rebuild functions, `_codecs.encode`), every other `REDUCE`/`NEWOBJ`/`BUILD` yields an opaque object
/// that records its class name, so unknown classes (numpy scalars, custom classes) can be skipped by the
/// caller. Malformed data or an unsupported opcode is a `pat::Error` naming the byte offset.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pat::detail {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

/// One unpickled value. Containers hold shared references (the memo may share them).
struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,   ///< str (also protocol-0/1 byte strings, decoded as Latin-1 code points)
    kBytes,    ///< bytes / bytearray
    kTuple,    ///< items
    kList,     ///< items (also sets)
    kDict,     ///< entries (dict and OrderedDict; attributes set by BUILD are dropped)
    kGlobal,   ///< text = "module.name"
    kObject,   ///< an instance of an unknown class: text = class name, items = constructor args, state
    kStorage,  ///< a torch storage from a persistent id: text = record key, storage_type = e.g. "FloatStorage"
    kTensor,   ///< a tensor not yet materialized: storage, offset, sizes, strides
  };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;
  std::vector<PickleRef> items;
  std::vector<std::pair<PickleRef, PickleRef>> entries;
  PickleRef state;  ///< kObject: what BUILD set; kTensor: the storage
  std::string storage_type;
  int64_t storage_numel = 0;
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes, strides;

  /// "dict", "int", "numpy.core.multiarray.scalar object", ... for messages.
  std::string describe() const;
};

/// Resolves a persistent id (BINPERSID/PERSID) to a value; torch.save's ids are
/// ('storage', <storage class global>, key, location, numel) tuples.
using PersistentLoader = std::function<PickleRef(const PickleRef& pid)>;

/// Unpickles `data`; `what` names the source in errors. `persistent` may be empty (then a persistent id
/// is an error).
PickleRef unpickle(const std::string& data, const std::string& what, const PersistentLoader& persistent);

}  // namespace pat::detail
