//===- EmitObject.cpp - Optimize LLVM IR and write an object file ---------===//
//
// Part of Kiln. Object emission happens in-process through LLVM's
// TargetMachine (no llc).
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/ModelLibrary/ModelLibrary.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;
using namespace mlir::kiln;

llvm::Error mlir::kiln::emitObjectFile(llvm::Module &module, StringRef path,
                                       StringRef cpu, unsigned optLevel) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target)
    return llvm::createStringError("no LLVM target for " + triple.str() + ": " +
                                   lookupError);

  std::string cpuName;
  std::string features;
  if (cpu == "host") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures featureList;
    for (const auto &[feature, enabled] : llvm::sys::getHostCPUFeatures())
      featureList.AddFeature(feature, enabled);
    features = featureList.getString();
  } else if (cpu == "generic") {
    cpuName = triple.getArch() == llvm::Triple::x86_64 ? "x86-64" : "generic";
  } else {
    cpuName = cpu.str();
  }
  llvm::TargetOptions options;
  // Multiply-adds become FMAs (one rounding instead of two), as with
  // clang's -ffp-contract=fast.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, options, llvm::Reloc::PIC_, std::nullopt,
      optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive
                    : llvm::CodeGenOptLevel::Default));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for cpu '" +
                                   cpuName + "'");
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());

  auto optimize =
      makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, machine.get());
  if (llvm::Error error = optimize(&module))
    return error;

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot write '" + path.str() +
                                           "': " + ec.message());
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, out.os(), nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the target cannot emit object files");
  codegen.run(module);
  out.keep();
  return llvm::Error::success();
}
