//===- CpuPipeline.cpp - The CPU compilation pipeline ---------------------===//
//
// Part of Kiln. kiln -> linalg on tensors -> bufferized loops -> LLVM
// dialect. kiln-compile and `kiln-opt --kiln-cpu-pipeline` build the same
// pass list from these functions.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Pipelines/Pipelines.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::kiln;

/// Rewrites `tensor.dim` of op and loop results into the sizes they were
/// built from, until the dynamic sizes are dims of the entry's arguments or
/// values computed once at entry. One-shot bufferization compares subsets
/// through ValueBoundsConstraintSet, which otherwise follows every `tensor.dim`
/// back through the layers before it (each shape-preserving scf.for on the
/// way analysed again), so its cost grew quadratically with depth: on a
/// 4-layer BERT-base shaped encoder this took bufferization from 22 s to
/// 1 s.
static void addDimResolution(OpPassManager &pm) {
  pm.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  pm.addPass(memref::createResolveShapedTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  // dim(scf.for result) -> dim(init) for loops that only insert into their
  // iter_arg (the per-sequence loops of packed ops).
  pm.addPass(createSCFForLoopCanonicalizationPass());
  pm.addPass(memref::createResolveShapedTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::kiln::buildCpuLoweringStage(OpPassManager &pm,
                                       const CpuPipelineOptions &options) {
  if (options.removePadding != RemovePaddingMode::off) {
    KilnRemovePaddingOptions padding;
    padding.encodersOnly = options.removePadding == RemovePaddingMode::encoders;
    pm.addNestedPass<func::FuncOp>(createKilnRemovePadding(padding));
  }
  // After padding removal (which knows the dense ops), before weights are
  // pretransposed (the sparse forms are encoded from [out, in]).
  if (options.sparsify != "off") {
    KilnSparsifyOptions sparse;
    sparse.mode = options.sparsify;
    sparse.block = options.sparseBlock;
    sparse.weights = options.weights;
    pm.addPass(createKilnSparsify(sparse));
  }
  // After kiln-sparsify, which judges each checkpoint weight on its own.
  if (options.fuseQkv)
    pm.addNestedPass<func::FuncOp>(createKilnFuseQkv());
  if (options.fuseGatedFfn)
    pm.addNestedPass<func::FuncOp>(createKilnFuseGatedFfn());
  if (options.fuseEpilogue)
    pm.addNestedPass<func::FuncOp>(createKilnFuseEpilogue());
  pm.addNestedPass<func::FuncOp>(createKilnPretransposeWeights());
  if (options.quantize != "none") {
    KilnQuantizeOptions quantize;
    quantize.weights = options.quantize;
    quantize.group = options.quantizeGroup;
    quantize.symmetric = options.quantizeSymmetric;
    quantize.skip.assign(options.quantizeSkip.begin(),
                         options.quantizeSkip.end());
    pm.addNestedPass<func::FuncOp>(createKilnQuantize(quantize));
  }
  KilnLowerToLinalgOptions lowering;
  lowering.flashAttention = options.flashAttention;
  pm.addNestedPass<func::FuncOp>(createKilnLowerToLinalg(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  KilnCpuTileAndParallelizeOptions tiling;
  tiling.weightColumnBlocks = options.weightColumnBlocks;
  pm.addNestedPass<func::FuncOp>(createKilnCpuTileAndParallelize(tiling));
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createKilnCpuVectorizeMatmul());
  // No loop-invariant-subset-hoisting: the microkernels already carry their
  // accumulators as vector iter_args, and on every bundled family it
  // changed nothing while taking a third of the compile time.
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createKilnCpuApproximateMath());
  KilnBindParamsOptions bindOptions;
  bindOptions.alignment = options.weightAlignment;
  pm.addPass(createKilnBindParams(bindOptions));
  addDimResolution(pm);
}

void mlir::kiln::buildCpuBufferizationStage(OpPassManager &pm,
                                            const CpuPipelineOptions &) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Entry points take and return dense row-major buffers; the runtime
  // stages anything strided.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createCanonicalizerPass());
}

void mlir::kiln::buildCpuToLLVMStage(OpPassManager &pm,
                                     const CpuPipelineOptions &options) {
  // bufferization.clone (a returned argument, for one) becomes alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Loads and stores through reshapes read the underlying buffer directly.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  // Reshapes that remain (e.g. returned ones) must not reach
  // expand-strided-metadata as expand_shape: MLIR 22.1 crashes on groups
  // with two dynamic sizes.
  pm.addNestedPass<func::FuncOp>(createKilnLowerContiguousExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  // Vector transfers become plain loads, stores and broadcasts; n-D ones
  // (register tiles of several rows) unrolled into 1-D ones rather than
  // looped over a stack buffer.
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(createLowerAffinePass());
  if (options.parallel)
    pm.addPass(createConvertSCFToOpenMPPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  // Allocations go through _mlir_memref_to_llvm_alloc/free, which the model
  // support library routes to the context's arena. This must precede
  // scf-to-cf, which cannot lower the alloca scopes of OpenMP regions.
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  // Failed run-time checks end the call with a message, not the process.
  pm.addPass(createKilnLowerAsserts());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::kiln::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  buildCpuLoweringStage(pm, options);
  buildCpuBufferizationStage(pm, options);
  buildCpuToLLVMStage(pm, options);
}

void mlir::kiln::registerKilnPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "kiln-cpu-pipeline",
      "Compile a kiln module to the LLVM dialect for the CPU (what "
      "kiln-compile runs)",
      buildCpuPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "kiln-cpu-lowering-stage",
      "Stage 1 of kiln-cpu-pipeline: kiln to linalg, weights bound",
      buildCpuLoweringStage);
  PassPipelineRegistration<CpuPipelineOptions>(
      "kiln-cpu-bufferization-stage",
      "Stage 2 of kiln-cpu-pipeline: bufferization and deallocation",
      buildCpuBufferizationStage);
  PassPipelineRegistration<CpuPipelineOptions>(
      "kiln-cpu-to-llvm-stage",
      "Stage 3 of kiln-cpu-pipeline: loops and the LLVM dialect",
      buildCpuToLLVMStage);
  PassPipelineRegistration<GpuPipelineOptions>(
      "kiln-gpu-pipeline",
      "Compile a kiln module for an NVIDIA GPU: one kernel per linalg op, "
      "PTX/fatbin embedded in the host LLVM dialect module (what "
      "kiln-compile --target=cuda runs)",
      buildGpuPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "kiln-gpu-lowering-stage",
      "Stage 1 of kiln-gpu-pipeline: kiln to linalg, weights bound",
      buildGpuLoweringStage);
  PassPipelineRegistration<GpuPipelineOptions>(
      "kiln-gpu-to-llvm-stage",
      "Stage 3 of kiln-gpu-pipeline (stage 2 is "
      "kiln-cpu-bufferization-stage): kernels, NVVM, binaries, host LLVM",
      buildGpuToLLVMStage);
}
