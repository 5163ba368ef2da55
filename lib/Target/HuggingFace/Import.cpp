//===- Import.cpp - Import Hugging Face model folders ---------------------===//
//
// Reads config.json, picks the family from `model_type` and lets the
// family's builder write the module; verifies the result so that an
// importer bug surfaces here rather than deep in the pipeline.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/HuggingFace/HuggingFace.h"

#include "ModelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct Family {
  StringRef modelType;
  void (*import)(hf::ModelBuilder &);
};

constexpr Family kFamilies[] = {
    {"bert", hf::importBert},
    {"gpt2", hf::importGpt2},
    {"llama", hf::importLlama},
    {"mamba", hf::importMamba},
};

constexpr StringRef kModelTypes[] = {"bert", "gpt2", "llama", "mamba"};

llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string configPath(StringRef dir) {
  SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  return std::string(path);
}

} // namespace

ArrayRef<StringRef> mlir::kiln::getSupportedModelTypes() {
  return kModelTypes;
}

bool mlir::kiln::isHuggingFaceModelDir(StringRef path) {
  return llvm::sys::fs::is_directory(path) &&
         llvm::sys::fs::exists(configPath(path));
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::kiln::importHuggingFaceModel(StringRef dir,
                                   const ::kiln::safetensors::Checkpoint &checkpoint,
                                   MLIRContext *context) {
  std::string path = configPath(dir);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot read " + path + ": " +
                     buffer.getError().message());
  return importHuggingFaceConfig((*buffer)->getBuffer(), path, checkpoint,
                                 context);
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::kiln::importHuggingFaceConfig(
    StringRef configText, StringRef path,
    const ::kiln::safetensors::Checkpoint &checkpoint, MLIRContext *context) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(configText);
  if (!json)
    return makeError(path + ": not valid JSON: " +
                     llvm::toString(json.takeError()));
  const llvm::json::Object *object = json->getAsObject();
  if (!object)
    return makeError(path + ": the top level must be a JSON object");

  hf::Config config(*object, path.str());
  std::string modelType = config.getString("model_type", "");
  if (config.getError())
    return makeError(*config.getError());
  const Family *family = llvm::find_if(
      kFamilies, [&](const Family &f) { return f.modelType == modelType; });
  if (family == std::end(kFamilies)) {
    std::string supported = llvm::join(ArrayRef<StringRef>(kModelTypes), ", ");
    if (modelType.empty())
      return makeError(path + ": missing field 'model_type' (Kiln imports " +
                       supported + ")");
    return makeError(path + ": model_type '" + modelType +
                     "' is not supported (Kiln imports " + supported + ")");
  }

  context->loadDialect<KilnDialect, arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       tensor::TensorDialect>();
  hf::ModelBuilder builder(context, checkpoint, config);
  family->import(builder);
  if (std::optional<std::string> error = builder.getError())
    return makeError(*error);
  OwningOpRef<ModuleOp> module = builder.takeModule();
  (*module)->setAttr("kiln.model_type",
                     StringAttr::get(context, family->modelType));
  if (failed(verify(*module)))
    return makeError("internal error: the module imported from " + path +
                     " does not verify (see the diagnostics above)");
  return std::move(module);
}
