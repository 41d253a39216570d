#include "pat/core/npy.h"

#include <cstring>
#include <regex>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace pat {
namespace {

const char kMagic[] = "\x93NUMPY";

struct NpyType {
  const char* descr;
  torch::ScalarType dtype;
};

const NpyType kTypes[] = {{"<f4", torch::kFloat32}, {"<f8", torch::kFloat64}, {"<i8", torch::kInt64},
                          {"<i4", torch::kInt32},   {"|u1", torch::kUInt8},   {"|b1", torch::kBool}};

}  // namespace

torch::Tensor parse_npy(const std::string& bytes, const std::string& what) {
  PAT_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), kMagic, 6) == 0, what, ": not an .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    PAT_CHECK(major == 2 || major == 3, what, ": unsupported .npy version ", major);
    PAT_CHECK(bytes.size() >= 12, what, ": truncated .npy header");
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  }
  PAT_CHECK(bytes.size() >= offset + header_len, what, ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  PAT_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")), what, ": .npy header has no descr");
  std::string descr = m[1];
  PAT_CHECK(std::regex_search(header, m, std::regex("'fortran_order':\\s*(True|False)")), what,
            ": .npy header has no fortran_order");
  PAT_CHECK(m[1] == "False", what, ": Fortran-ordered .npy arrays are not supported");
  PAT_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), what, ": .npy header has no shape");
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  std::regex number("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));

  bool uint16 = descr == "<u2";
  torch::ScalarType dtype = torch::kFloat32;
  bool known = uint16;
  for (const auto& t : kTypes) {
    if (descr == t.descr || (descr.size() == 3 && descr[0] == '|' && std::string("<") + descr.substr(1) == t.descr)) {
      dtype = t.dtype;
      known = true;
    }
  }
  PAT_CHECK(known, what, ": unsupported .npy dtype ", descr, " (expected <f4, <f8, <i8, <i4, |u1, <u2 or |b1)");
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  const size_t item = uint16 ? 2 : torch::elementSize(dtype);
  const size_t data_offset = offset + header_len;
  PAT_CHECK(bytes.size() - data_offset == static_cast<size_t>(count) * item, what, ": expected ", count * item,
            " data bytes for shape and dtype, got ", bytes.size() - data_offset);
  if (uint16) {
    auto raw = torch::empty(shape, torch::kInt16);
    std::memcpy(raw.data_ptr(), bytes.data() + data_offset, count * 2);
    return raw.to(torch::kInt32).bitwise_and(0xFFFF);
  }
  auto tensor = torch::empty(shape, dtype);
  std::memcpy(tensor.data_ptr(), bytes.data() + data_offset, count * item);
  return tensor;
}

torch::Tensor read_npy(const std::string& path) {
  return parse_npy(read_file(path, ".npy file"), path);
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  auto t = tensor.detach().to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& type : kTypes)
    if (type.dtype == t.scalar_type()) descr = type.descr;
  PAT_CHECK(descr != nullptr, path, ": cannot write dtype ", t.scalar_type(), " as .npy");
  std::string shape = "(";
  for (int64_t i = 0; i < t.dim(); ++i)
    shape += std::to_string(t.size(i)) + (t.dim() == 1 ? "," : (i + 1 < t.dim() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

}  // namespace pat
