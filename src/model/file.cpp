#include "model/file.h"

#include <caffe2/serialize/inline_container.h>
#include <elf.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "util/error.h"

namespace mlff {

namespace {

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// Whether an ELF shared library's headers, program segments and section table lie inside its
// bytes: what the dynamic loader maps.
bool whole_elf(const char* data, std::size_t size) {
  Elf64_Ehdr header;
  if (size < sizeof(header)) return false;
  std::memcpy(&header, data, sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  auto inside = [&](std::uint64_t offset, std::uint64_t length) {
    return offset <= size && length <= size - offset;
  };
  if (!inside(header.e_phoff, std::uint64_t(header.e_phnum) * header.e_phentsize) ||
      !inside(header.e_shoff, std::uint64_t(header.e_shnum) * header.e_shentsize) ||
      header.e_phentsize < sizeof(Elf64_Phdr))
    return false;
  for (int k = 0; k < header.e_phnum; ++k) {
    Elf64_Phdr segment;
    std::memcpy(&segment, data + header.e_phoff + std::uint64_t(k) * header.e_phentsize,
                sizeof(segment));
    if (!inside(segment.p_offset, segment.p_filesz)) return false;
  }
  return true;
}

}  // namespace

ModelFormat inspect_model_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw Error("model file '" + path +
                "' is a directory: give the path of a TorchScript file (.pt) or an "
                "AOTInductor package (.pt2)");
  if (!fs::is_regular_file(path, ec)) throw Error("cannot open model file '" + path + "'");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception&) {
    throw Error("model file '" + path +
                "' is not a complete TorchScript file or AOTInductor package (a zip archive "
                "that is truncated or corrupt, or another kind of file): copy it again, or "
                "make it again with python -m mlff_student export or compile");
  }
  const std::vector<std::string> records = archive->getAllRecords();
  bool package = false;
  for (const std::string& name : records) {
    if (name.find("aotinductor/") == std::string::npos) continue;
    package = true;
    if (!ends_with(name, ".so")) continue;
    bool whole = false;
    try {
      auto [data, size] = archive->getRecord(name);
      whole = whole_elf(static_cast<const char*>(data.get()), size);
    } catch (const std::exception&) {  // a record the archive cannot give back whole
    }
    if (!whole)
      throw Error("model package '" + path + "' holds a truncated or corrupt shared library (" +
                  name +
                  "): copy the package again, or compile it again with python -m "
                  "mlff_student compile");
  }
  return package ? ModelFormat::Aoti : ModelFormat::TorchScript;
}

}  // namespace mlff
