//===- InitAll.cpp - Register everything kiln tools use -------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#include "kiln/InitAll.h"
#include "kiln/Codegen/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Pipelines/Pipelines.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::kiln::KilnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // kiln-gpu-pipeline: gpu-module-to-binary serializes NVVM targets, and
  // the host translation embeds the binaries.
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
}

void kiln::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::kiln::registerKilnPasses();
  mlir::kiln::registerKilnConversionPasses();
  mlir::kiln::registerKilnCodegenPasses();
  mlir::kiln::registerKilnPipelines();
}
