//===- Manifest.cpp - model.json and model.h ------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/ModelLibrary/ModelLibrary.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>

using namespace mlir;
using namespace mlir::kiln;

#ifndef KILN_VERSION
#define KILN_VERSION "0.0.0"
#endif

StringRef mlir::kiln::getKilnVersion() { return KILN_VERSION; }

namespace {

llvm::json::Array dimsToJson(const TensorSignature &tensor) {
  llvm::json::Array dims;
  for (auto [size, name] : llvm::zip(tensor.dims, tensor.dimNames)) {
    if (size >= 0)
      dims.push_back(size);
    else
      dims.push_back(name);
  }
  return dims;
}

llvm::json::Array tensorsToJson(ArrayRef<TensorSignature> tensors) {
  llvm::json::Array result;
  for (const TensorSignature &tensor : tensors)
    result.push_back(llvm::json::Object{
        {"name", tensor.name},
        {"dtype", getDTypeName(tensor.dtype)},
        {"shape", dimsToJson(tensor)},
    });
  return result;
}

/// A C identifier made of `text` (non-identifier characters become '_').
std::string toIdentifier(StringRef text) {
  std::string result;
  for (char c : text)
    result.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (result.empty() || std::isdigit(static_cast<unsigned char>(result[0])))
    result.insert(result.begin(), '_');
  return result;
}

std::string describeShape(const TensorSignature &tensor) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << getDTypeName(tensor.dtype) << " [";
  for (auto [index, size] : llvm::enumerate(tensor.dims)) {
    if (index)
      os << ", ";
    if (size >= 0)
      os << size;
    else
      os << tensor.dimNames[index];
  }
  os << "]";
  return text;
}

} // namespace

std::string mlir::kiln::renderManifest(ArrayRef<EntrySignature> entries,
                                       ArrayRef<PlannedWeight> weights,
                                       const WeightsFileInfo &weightsFile,
                                       ArrayRef<std::string> compileFlags,
                                       const ModelSource &source,
                                       const ModelTarget &target) {
  llvm::json::Array entryArray;
  for (const EntrySignature &entry : entries)
    entryArray.push_back(llvm::json::Object{
        {"name", entry.name},
        {"inputs", tensorsToJson(entry.inputs)},
        {"outputs", tensorsToJson(entry.outputs)},
    });
  llvm::json::Array weightArray;
  for (const PlannedWeight &weight : weights) {
    llvm::json::Object object{
        {"name", weight.name},
        {"source", weight.source},
        {"transposed", weight.transposed},
        {"panels", weight.panels},
        {"dtype", getDTypeName(weight.dtype)},
        {"shape", llvm::json::Array(weight.shape)},
        {"offset", static_cast<int64_t>(weight.offset)},
        {"bytes", static_cast<int64_t>(weight.nbytes)},
    };
    if (!weight.concat.empty())
      object["concat"] = llvm::json::Array(weight.concat);
    if (weight.columns)
      object["columns"] = weight.columns;
    if (weight.quantBits)
      object["quant"] = llvm::json::Object{
          {"scheme", weight.quantBits == 8 ? "int8" : "int4"},
          {"bits", weight.quantBits},
          {"group", weight.quantGroup},
          {"symmetric", weight.quantSymmetric},
          {"part", weight.quantPart},
      };
    weightArray.push_back(std::move(object));
  }
  char hash[32];
  snprintf(hash, sizeof(hash), "%016llx",
           static_cast<unsigned long long>(weightsFile.headerHash));
  llvm::json::Object targetObject{{"device", target.device},
                                  {"arch", target.arch}};
  if (!target.binary.empty())
    targetObject["binary"] = target.binary;
  llvm::json::Object manifest{
      {"format", "kiln-model"},
      {"kiln_version", getKilnVersion()},
      {"source",
       llvm::json::Object{{"kind", source.kind},
                          {"path", source.path},
                          {"model_type", source.modelType}}},
      {"target", std::move(targetObject)},
      {"library", "model.so"},
      {"header", "model.h"},
      {"weights",
       llvm::json::Object{
           {"file", weightsFile.fileName},
           {"bytes", static_cast<int64_t>(weightsFile.fileSize)},
           {"header_fnv1a64", hash},
           {"tensors", std::move(weightArray)},
       }},
      {"entries", std::move(entryArray)},
      {"compile_flags", llvm::json::Array(compileFlags)},
  };
  if (!weightsFile.sparseLayers.empty()) {
    llvm::json::Array layers;
    for (const WeightsFileInfo::SparseLayer &layer : weightsFile.sparseLayers)
      layers.push_back(llvm::json::Object{
          {"weight", layer.weight},
          {"form", layer.form},
          {"density", layer.density},
          {"block_density", layer.blockDensity},
      });
    manifest["sparsity"] = std::move(layers);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  return text;
}

std::string mlir::kiln::renderHeader(ArrayRef<EntrySignature> entries) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "/* model.h - entry points of a model compiled by kiln-compile "
     << getKilnVersion() << ".\n"
     << " * Load the directory with kiln_model_open() (kiln_runtime.h) and\n"
     << " * pass tensors in the order below. Generated; do not edit. */\n"
     << "#ifndef KILN_COMPILED_MODEL_H\n#define KILN_COMPILED_MODEL_H\n\n"
     << "#include \"kiln_runtime.h\"\n\n";
  for (auto [entryIndex, entry] : llvm::enumerate(entries)) {
    std::string id = toIdentifier(entry.name);
    os << "/* Entry '" << entry.name << "'.\n";
    for (const TensorSignature &in : entry.inputs)
      os << " *   input  " << in.name << ": " << describeShape(in) << "\n";
    for (const TensorSignature &out : entry.outputs)
      os << " *   output " << out.name << ": " << describeShape(out) << "\n";
    os << " */\n";
    os << "#define KILN_ENTRY_" << id << " \"" << entry.name << "\"\n";
    os << "enum {\n";
    os << "  KILN_" << id << "_NUM_INPUTS = " << entry.inputs.size() << ",\n";
    for (auto [i, in] : llvm::enumerate(entry.inputs))
      os << "  KILN_" << id << "_INPUT_" << toIdentifier(in.name) << " = " << i
         << ",\n";
    os << "  KILN_" << id << "_NUM_OUTPUTS = " << entry.outputs.size() << ",\n";
    for (auto [i, out] : llvm::enumerate(entry.outputs))
      os << "  KILN_" << id << "_OUTPUT_" << toIdentifier(out.name) << " = "
         << i << ",\n";
    os << "};\n\n";
  }
  os << "#endif /* KILN_COMPILED_MODEL_H */\n";
  return text;
}
