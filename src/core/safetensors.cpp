#include "pat/core/safetensors.h"

#include <cstring>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat {
namespace {

struct DtypeName {
  const char* name;
  torch::ScalarType dtype;
};

const DtypeName kDtypes[] = {{"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
                             {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
                             {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
                             {"BOOL", torch::kBool}};

torch::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.dtype;
  PAT_FAIL(where, ": unsupported safetensors dtype \"", name, "\"");
}

const char* name_from_dtype(torch::ScalarType dtype, const std::string& where) {
  for (const auto& d : kDtypes)
    if (dtype == d.dtype) return d.name;
  PAT_FAIL(where, ": cannot store dtype ", dtype, " in safetensors");
}

}  // namespace

SafeTensors read_safetensors(const std::string& path) {
  const std::string bytes = read_file(path, "safetensors file");
  PAT_CHECK(bytes.size() >= 8, path, ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  PAT_CHECK(header_len <= bytes.size() - 8, path, ": not a safetensors file (header length ", header_len,
            " exceeds the file size)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const nlohmann::json::exception& e) {
    PAT_FAIL(path, ": not a safetensors file (header is not JSON: ", e.what(), ")");
  }
  PAT_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  const size_t data_start = 8 + header_len;
  const size_t data_size = bytes.size() - data_start;
  SafeTensors result;
  for (const auto& [name, info] : header.items()) {
    const std::string where = path + ": tensor " + name;
    if (name == "__metadata__") {
      for (const auto& [key, value] : info.items())
        result.metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
      continue;
    }
    PAT_CHECK(info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"), where,
              ": expected dtype, shape and data_offsets");
    auto dtype = dtype_from_name(info["dtype"].get<std::string>(), where);
    std::vector<int64_t> shape = info["shape"].get<std::vector<int64_t>>();
    auto offsets = info["data_offsets"].get<std::vector<uint64_t>>();
    PAT_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1] && offsets[1] <= data_size, where,
              ": data_offsets outside the file");
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    const uint64_t expected = static_cast<uint64_t>(count) * torch::elementSize(dtype);
    PAT_CHECK(offsets[1] - offsets[0] == expected, where, ": expected ", expected, " bytes for its shape, got ",
              offsets[1] - offsets[0]);
    auto tensor = torch::empty(shape, dtype);
    if (expected) std::memcpy(tensor.data_ptr(), bytes.data() + data_start + offsets[0], expected);
    result.tensors.emplace(name, tensor);
  }
  return result;
}

void write_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> ordered;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t size = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", name_from_dtype(t.scalar_type(), path + ": tensor " + name)},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
    ordered.push_back(t);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data section
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(json.size()) >> (8 * i)) & 0xFF);
  out += json;
  out.reserve(out.size() + offset);
  for (const auto& t : ordered) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

}  // namespace pat
