//===- Pipelines.h - Named compilation pipelines ----------------*- C++ -*-===//
//
// Part of Kiln. The pipelines kiln-compile runs, registered under the same
// names in kiln-opt so that every stage can be replayed and inspected.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
namespace kiln {

/// Which functions `kiln-remove-padding` rewrites in a pipeline.
enum class RemovePaddingMode { off, encoders, all };

/// Options of `kiln-cpu-pipeline`.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<std::string> sparsify{
      *this, "sparsify",
      llvm::cl::desc("kiln-sparsify mode: off, auto, 2:4 or block"),
      llvm::cl::init("off")};
  PassOptions::Option<std::string> sparseBlock{
      *this, "sparse-block",
      llvm::cl::desc("kiln-sparsify block shape RxC (empty: its default)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("The checkpoint kiln-sparsify reads values from"),
      llvm::cl::init("")};
  PassOptions::Option<RemovePaddingMode> removePadding{
      *this, "remove-padding",
      llvm::cl::desc("Run token-wise work on the real tokens only "
                     "(kiln-remove-padding)"),
      llvm::cl::init(RemovePaddingMode::encoders),
      llvm::cl::values(
          clEnumValN(RemovePaddingMode::off, "off", "keep the padding"),
          clEnumValN(RemovePaddingMode::encoders, "encoders",
                     "functions whose tokens mix bidirectionally only"),
          clEnumValN(RemovePaddingMode::all, "all",
                     "every function the pass can run packed"))};
  PassOptions::Option<bool> fuseQkv{
      *this, "fuse-qkv",
      llvm::cl::desc("Run projections of one input as one matmul "
                     "(kiln-fuse-qkv)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseGatedFfn{
      *this, "fuse-gated-ffn",
      llvm::cl::desc("Run a gated FFN's gate and up projections as one "
                     "matmul (kiln-fuse-gated-ffn)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseEpilogue{
      *this, "fuse-epilogue",
      llvm::cl::desc("Add residual connections inside the projections' "
                     "matmuls (kiln-fuse-epilogue; off by default: it makes "
                     "bufferization's compile time grow with depth squared)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> flashAttention{
      *this, "flash-attention",
      llvm::cl::desc("Lower eligible attentions to the fused online-softmax "
                     "kernel (kiln-lower-to-linalg's flash-attention)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> weightColumnBlocks{
      *this, "weight-column-blocks",
      llvm::cl::desc("Column blocks per weight matmul, so that decode "
                     "steps use every core "
                     "(kiln-cpu-tile-and-parallelize; 0: rows only)"),
      llvm::cl::init(8)};
  PassOptions::Option<int64_t> weightAlignment{
      *this, "weight-alignment",
      llvm::cl::desc("Byte alignment of each weight in the weights file"),
      llvm::cl::init(64)};
  PassOptions::Option<std::string> quantize{
      *this, "quantize",
      llvm::cl::desc("Weight-only quantization of projection weights "
                     "(kiln-quantize): none, int8 or int4"),
      llvm::cl::init("none")};
  PassOptions::Option<int64_t> quantizeGroup{
      *this, "quantize-group",
      llvm::cl::desc("kiln-quantize's group (0: its default)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> quantizeSymmetric{
      *this, "quantize-symmetric",
      llvm::cl::desc("kiln-quantize's symmetric"), llvm::cl::init(true)};
  PassOptions::ListOption<std::string> quantizeSkip{
      *this, "quantize-skip",
      llvm::cl::desc("Weight name globs kiln-quantize keeps in f32")};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run row blocks on OpenMP threads (model.so then "
                     "needs libomp)"),
      llvm::cl::init(true)};
};

/// Stage 1: kiln ops to linalg/tensor/scf, weights bound to one buffer.
void buildCpuLoweringStage(OpPassManager &pm,
                           const CpuPipelineOptions &options);

/// Stage 2: one-shot bufferization and deallocation.
void buildCpuBufferizationStage(OpPassManager &pm,
                                const CpuPipelineOptions &options);

/// Stage 3: loops, then the LLVM dialect.
void buildCpuToLLVMStage(OpPassManager &pm, const CpuPipelineOptions &options);

/// All three stages: a kiln module in, an LLVM dialect module out.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Options of `kiln-gpu-pipeline`.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> cudaArch{
      *this, "cuda-arch",
      llvm::cl::desc("NVIDIA architecture the kernels are compiled for: "
                     "sm_80 or sm_90"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What model.so embeds: isa (PTX, JIT-compiled by the "
                     "driver at load), fatbin (cubin + PTX; needs ptxas and "
                     "fatbinary) or auto (fatbin when ptxas is found)"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> ptxas{
      *this, "ptxas",
      llvm::cl::desc("ptxas to assemble with (its folder must also hold "
                     "fatbinary); default: /usr/local/cuda/bin, then PATH"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("libdevice bitcode linked into every kernel module "
                     "(math functions); default: the CUDA toolkit's"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of the generic kernels"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> weightAlignment{
      *this, "weight-alignment",
      llvm::cl::desc("Byte alignment of each weight in the weights file"),
      llvm::cl::init(64)};
};

/// GPU stage 1: kiln ops to linalg (reference attention, padding kept),
/// weights bound to one buffer. Shares kiln-lower-to-linalg with the CPU.
void buildGpuLoweringStage(OpPassManager &pm,
                           const GpuPipelineOptions &options);

/// GPU stage 3 (stage 2 is the CPU's bufferization): every linalg op to a
/// kernel, kernels to NVVM and a binary, the host to the LLVM dialect.
void buildGpuToLLVMStage(OpPassManager &pm, const GpuPipelineOptions &options);

/// All GPU stages: a kiln module in, an LLVM dialect module with embedded
/// GPU binaries out.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// The toolkit folder holding ptxas for `options`, or "" when none is found
/// (then only PTX can be produced).
std::string findCudaToolkitBin(const GpuPipelineOptions &options);

/// Registers `kiln-cpu-pipeline`, `kiln-gpu-pipeline` and their stages
/// with the pass registry.
void registerKilnPipelines();

} // namespace kiln
} // namespace mlir

#endif // KILN_PIPELINES_PIPELINES_H
