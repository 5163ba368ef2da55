//===- GpuPipeline.cpp - The NVIDIA GPU compilation pipeline --------------===//
//
// Part of Kiln. kiln -> linalg on tensors -> buffers (shared with the CPU
// pipeline) -> one kernel per linalg op -> NVVM -> PTX / fatbin embedded in
// the host module, whose launches call the MLIR CUDA runtime-wrapper ABI
// (mgpu*) that libkiln_runtime implements over the driver API.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Pipelines/Pipelines.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The CUDA toolkit root for gpu-module-to-binary (it runs <root>/bin/ptxas
/// and <root>/bin/fatbinary), or "" when no ptxas is found.
std::string toolkitRoot(const GpuPipelineOptions &options) {
  std::string bin = findCudaToolkitBin(options);
  if (bin.empty())
    return "";
  return llvm::sys::path::parent_path(bin).str();
}

std::string findLibdevice(const GpuPipelineOptions &options) {
  if (!options.libdevice.empty())
    return options.libdevice;
  SmallVector<std::string> candidates;
  std::string root = toolkitRoot(options);
  if (!root.empty())
    candidates.push_back(root + "/nvvm/libdevice/libdevice.10.bc");
  candidates.push_back("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc");
  for (const std::string &path : candidates)
    if (llvm::sys::fs::exists(path))
      return path;
  return "";
}

} // namespace

std::string mlir::kiln::findCudaToolkitBin(const GpuPipelineOptions &options) {
  if (!options.ptxas.empty())
    return llvm::sys::fs::can_execute(options.ptxas)
               ? llvm::sys::path::parent_path(options.ptxas).str()
               : "";
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin";
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("ptxas"))
    return llvm::sys::path::parent_path(*found).str();
  return "";
}

void mlir::kiln::buildGpuLoweringStage(OpPassManager &pm,
                                       const GpuPipelineOptions &options) {
  // No kiln-remove-padding: packing reads the attention mask on the host.
  // The reference attention is a chain of linalg ops, each a parallel
  // kernel; the CPU's flash attention is a sequential loop nest.
  KilnLowerToLinalgOptions lowering;
  lowering.flashAttention = false;
  pm.addNestedPass<func::FuncOp>(createKilnLowerToLinalg(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  KilnBindParamsOptions bindOptions;
  bindOptions.alignment = options.weightAlignment;
  pm.addPass(createKilnBindParams(bindOptions));
}

void mlir::kiln::buildGpuToLLVMStage(OpPassManager &pm,
                                     const GpuPipelineOptions &options) {
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Tensor-core kernels first: f16/bf16 matmuls become mma.sync kernels
  // (kiln-gpu-matmul-to-mma; f32 ones are left alone). Further
  // specialized-kernel passes go here too, before the generic mapping below,
  // which leaves alone whatever they turned into launches.
  pm.addPass(createKilnGpuMatmulToMma());
  KilnGpuMapToKernelsOptions mapping;
  mapping.blockSize = options.blockSize;
  pm.addNestedPass<func::FuncOp>(createKilnGpuMapToKernels(mapping));
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
  // Views become plain descriptors before kernels are outlined, so that
  // kernels take (pointer, offset, sizes, strides) and index themselves.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addNestedPass<func::FuncOp>(createKilnLowerContiguousExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createGpuKernelOutliningPass());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.cudaArch;
  // PTX ISA 8.0: CUDA 12.0 drivers and newer JIT it; sm_90 needs >= 7.8.
  target.features = "+ptx80";
  target.optLevel = 3;
  if (std::string libdevice = findLibdevice(options); !libdevice.empty())
    target.linkLibs.push_back(libdevice);
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertVectorToLLVMPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  std::string root = toolkitRoot(options);
  binary.toolkitPath = root;
  binary.compilationTarget =
      options.format == "auto" ? (root.empty() ? "isa" : "fatbin")
                               : options.format.getValue();
  pm.addPass(createGpuModuleToBinaryPass(binary));

  // The host: allocations go to the call's device arena through
  // _mlir_memref_to_llvm_alloc (ModelSupportCuda.c); launches call mgpu*.
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createKilnLowerAsserts());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::kiln::buildGpuPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  buildGpuLoweringStage(pm, options);
  buildCpuBufferizationStage(pm, CpuPipelineOptions());
  buildGpuToLLVMStage(pm, options);
}
