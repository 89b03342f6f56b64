// Reading PyTorch checkpoints (.pth / .pt as written by torch.save since 1.6): a zip archive
// holding `<prefix>/data.pkl` (a pickle of the state dict), `<prefix>/data/<key>` (the raw bytes of
// each storage), `<prefix>/version` and maybe `<prefix>/byteorder`.
//
// The pickle is read by a restricted unpickler that only builds data: dicts, lists, tuples,
// strings, numbers and tensors. The only globals it accepts are collections.OrderedDict,
// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the storage types
// torch.{Float,Half,BFloat16,Double,Long,Int}Storage; any other global (os.system,
// builtins.eval, ...) and any opcode outside the small set a state dict needs is refused with an
// error naming the file and what was refused. Nothing from the file is ever executed.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "models/formats/safetensors.hpp"

namespace hires::models {

struct PthCheckpoint {
  std::map<std::string, TensorData> tensors;  // parameter name -> shape and fp32 values
  std::string wrapper;  // "params_ema", "params" or "state_dict" when the dict was wrapped
  std::filesystem::path path;
};

// Loads the state dict of a checkpoint. A top-level dict holding `params_ema`, `params` or
// `state_dict` (preferred in that order) is unwrapped; a leading `module.` is removed from every
// name; entries that are not tensors are left out. Tensors must be contiguous (any storage
// offset); fp32, fp16, bf16, fp64, int64 and int32 values are converted to fp32.
// Throws hires::Error(input) whose subject is the file: not a zip archive, legacy (pre-1.6)
// format, corrupt entries, a refused global or opcode, a malformed pickle, bad tensor geometry.
PthCheckpoint load_pth(const std::filesystem::path& path);
// The same without reading the storages: every tensor's shape (values left empty), the pickle
// checked as load_pth checks it and each storage's record present and declared large enough.
PthCheckpoint read_pth_header(const std::filesystem::path& path);

}  // namespace hires::models
