//===- ModelLibrary.h - Write a compiled model directory --------*- C++ -*-===//
//
// Part of Kiln. What kiln-compile needs beyond the pass pipeline: the
// entry-point signatures of a kiln module, the weights plan that
// kiln-bind-params recorded, the C-ABI interface (kiln_model_abi.h) emitted
// into the LLVM module, object emission, and the manifest and header.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_MODELLIBRARY_MODELLIBRARY_H
#define KILN_TARGET_MODELLIBRARY_MODELLIBRARY_H

#include "kiln/Runtime/kiln_model_abi.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace mlir {
namespace kiln {

/// One input or output of an entry point, as the runtime sees it.
struct TensorSignature {
  std::string name;
  int32_t dtype = 0; ///< KILN_ABI_DTYPE_*
  int64_t elementBytes = 0;
  SmallVector<int64_t> dims;         ///< -1 for dynamic
  SmallVector<std::string> dimNames; ///< empty for static dims
};

/// One public function of the module.
struct EntrySignature {
  std::string name;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
};

/// One weight of the weights file, where the code reads it.
struct PlannedWeight {
  std::string name;        ///< in the compiled weights file
  std::string source;      ///< in the checkpoint
  /// Checkpoint tensors whose rows are stacked after `source`'s (a param
  /// with `concat`); the plan reads the stack as one tensor.
  std::vector<std::string> concat;
  bool transposed = false; ///< stored as the transpose of `source`
  int64_t panels = 0;      ///< then cut into column panels this wide
  /// Columns before the panels when the last panel is partial (zero-padded);
  /// 0 when they fill whole panels.
  int64_t columns = 0;
  std::string encoding;    ///< or this part of a sparse form (SparseWeights.h)
  int32_t dtype = 0;
  SmallVector<int64_t> shape;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  /// Weight-only quantization (kiln-quantize): 0 bits for none; else the
  /// stored tensor is `quantPart` ("values", "scales", "zero_points") of
  /// the [K, N] weight quantized in groups of `quantGroup` along K.
  int64_t quantBits = 0;
  int64_t quantGroup = 0;
  bool quantSymmetric = true;
  std::string quantPart;
};

/// Facts about the weights file the library is built for.
struct WeightsFileInfo {
  std::string fileName;
  uint64_t fileSize = 0;
  uint64_t headerHash = 0;
  uint64_t dataSize = 0;
  /// kiln-sparsify's per-weight decisions (the module's `kiln.sparsity`):
  /// the checkpoint weight, the form (dense, 2:4, bsrRxC), the fraction of
  /// non-zero elements and of stored blocks (-1: no block form).
  struct SparseLayer {
    std::string weight, form;
    double density = 1.0, blockDensity = -1.0;
  };
  std::vector<SparseLayer> sparseLayers;
};

/// Reads the signatures of the public functions of a kiln module (before
/// lowering). Names come from the `kiln.name` argument/result attribute,
/// dynamic dim names from `kiln.dims` (defaults: input<i>/output<i>;
/// batch, seq, dim<k>). Fails with a located error on unsupported element
/// types or output dims that no input binds.
FailureOr<std::vector<EntrySignature>> collectEntrySignatures(ModuleOp module);

/// Reads the `kiln.weights` plan that kiln-bind-params put on the module.
FailureOr<std::vector<PlannedWeight>> readWeightsPlan(ModuleOp module);

/// The KILN_ABI_DTYPE_* code and byte size of an element type, or failure.
FailureOr<std::pair<int32_t, int64_t>> getAbiDType(Type elementType);

/// Spelling of a KILN_ABI_DTYPE_* code in safetensors ("F32", ...).
StringRef getDTypeName(int32_t dtype);

/// Adds `kiln_model_describe` and one entry wrapper per signature to the
/// LLVM IR of the lowered module; the lowered functions become internal.
/// `device` (KILN_ABI_DEVICE_*) says where the code runs.
llvm::Error emitModelInterface(llvm::Module &module,
                               ArrayRef<EntrySignature> entries,
                               ArrayRef<PlannedWeight> weights,
                               const WeightsFileInfo &weightsFile,
                               int32_t device = KILN_ABI_DEVICE_CPU);

/// Optimizes `module` at -O`optLevel` for `cpu` ("host", "generic" or an
/// LLVM CPU name) and writes an ELF object to `path`.
llvm::Error emitObjectFile(llvm::Module &module, StringRef path, StringRef cpu,
                           unsigned optLevel);

/// What a model directory was compiled from, for the manifest.
/// What a model was compiled for, recorded in model.json's "target".
struct ModelTarget {
  /// "cpu" or "cuda".
  std::string device = "cpu";
  /// The CPU name, or the CUDA architecture (sm_80).
  std::string arch = "host";
  /// For cuda: what model.so embeds, "isa" (PTX) or "fatbin".
  std::string binary;
};

struct ModelSource {
  /// "mlir" (a kiln module) or "huggingface" (a model folder).
  std::string kind;
  /// The path given to kiln-compile.
  std::string path;
  /// config.json's `model_type` for Hugging Face folders; empty otherwise.
  std::string modelType;
};

/// model.json: format/version, what the model was compiled from, the
/// entries, the weights file and its tensors, and the compile flags.
std::string renderManifest(ArrayRef<EntrySignature> entries,
                           ArrayRef<PlannedWeight> weights,
                           const WeightsFileInfo &weightsFile,
                           ArrayRef<std::string> compileFlags,
                           const ModelSource &source,
                           const ModelTarget &target = ModelTarget());

/// model.h: the entry points' signatures for C callers of kiln_runtime.h.
std::string renderHeader(ArrayRef<EntrySignature> entries);

/// Kiln's version string.
StringRef getKilnVersion();

} // namespace kiln
} // namespace mlir

#endif // KILN_TARGET_MODELLIBRARY_MODELLIBRARY_H
