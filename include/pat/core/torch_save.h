#pragma once
/// \file Reading the tensors of files written by Python's `torch.save` (the zip format of torch >= 1.6:
/// `<dir>/data.pkl` plus one record `<dir>/data/<key>` per storage), such as detectron2 checkpoints
/// (`{"model": state_dict, "iteration": ..., "optimizer": ...}`) or plain state dicts.
///
/// The pickle is read by PAT's own reader, which runs no Python code and builds no classes: tensors,
/// dicts (OrderedDict included, with its `_metadata`), lists, tuples, numbers and strings are understood;
/// any other object (a numpy scalar, a custom class) is skipped with its class name as the reason.
/// Only the storages the chosen state dict uses are read.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace pat {

/// A state dict read from a torch.save file.
struct TorchStateDict {
  /// Tensors by name (nested dicts are flattened with "."), CPU, dtype as stored.
  std::map<std::string, torch::Tensor> tensors;
  /// Values that were not read, with the reason: non-tensor entries of the state dict, and the other
  /// top-level entries of a checkpoint ("iteration: int, not the state dict").
  std::vector<std::pair<std::string, std::string>> skipped;
  /// The top-level entry the state dict came from ("model"), or "" when the file is the state dict.
  std::string entry;
};

/// What a file is, judged by its first bytes and (for zips) its record names.
enum class TorchFileKind {
  kTorchSave,    ///< zip written by torch.save (data.pkl, no TorchScript code)
  kTorchScript,  ///< zip written by torch.jit.save / LibTorch's serialize (code/ or constants.pkl)
  kLegacySave,   ///< the pre-1.6 torch.save format (a bare pickle stream)
  kOther,
};

/// Classifies `path`; a missing or unreadable file is a `pat::Error`.
TorchFileKind torch_file_kind(const std::string& path);

/// Reads the state dict of a torch.save zip at `path`. When the top level is a dict holding `entry`
/// (e.g. "model" in detectron2 checkpoints) whose value is a dict, that value is the state dict and the
/// other top-level entries are reported as skipped; otherwise the top-level dict itself is the state dict.
/// Errors (`pat::Error`, one line): missing file; the legacy (non-zip) format, with the command that
/// re-saves it; a TorchScript archive; a pickle that is not a dict; unsupported opcodes or storage types;
/// missing storage records; big-endian data; tensors reaching past their storage.
TorchStateDict read_torch_state_dict(const std::string& path, const std::string& entry = "model");

}  // namespace pat
