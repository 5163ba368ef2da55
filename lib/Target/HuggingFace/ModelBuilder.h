//===- ModelBuilder.h - Shared pieces of the Hugging Face importer -*- C++ -*-===//
//
// Config: typed access to config.json. ModelBuilder: kiln.param checked
// against the checkpoint, entry functions with named inputs and outputs,
// and one-line builders for the ops every family uses. Both remember the
// first problem and keep going, so that a family's builder reads straight
// through and the caller reports one precise error at the end.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_TARGET_HUGGINGFACE_MODELBUILDER_H
#define KILN_LIB_TARGET_HUGGINGFACE_MODELBUILDER_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Target/Safetensors/Checkpoint.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace mlir {
namespace kiln {
namespace hf {

/// Typed fields of config.json. A missing required field or a value of the
/// wrong type records an error naming the field and yields a harmless
/// placeholder (1), so callers need not check every read.
class Config {
public:
  Config(const llvm::json::Object &object, std::string path)
      : object(object), path(std::move(path)) {}

  /// The largest integer field accepted (2^26): above any real model's
  /// sizes, vocabulary and positions, and small enough that the importer's
  /// products of two fields (heads * head_dim, expand * hidden_size) stay
  /// far from int64 overflow.
  static constexpr int64_t kMaxConfigInteger = int64_t(1) << 26;
  /// A required integer field in [1, kMaxConfigInteger].
  int64_t getPositive(llvm::StringRef key);
  /// An optional integer field in [1, kMaxConfigInteger]; absent or null
  /// gives `otherwise`.
  int64_t getPositive(llvm::StringRef key, int64_t otherwise);
  /// An optional non-negative number; absent or null gives `otherwise`.
  double getFloat(llvm::StringRef key, double otherwise);
  /// An optional boolean; absent or null gives `otherwise`.
  bool getBool(llvm::StringRef key, bool otherwise);
  /// An optional string; absent or null gives `otherwise`.
  std::string getString(llvm::StringRef key, llvm::StringRef otherwise);
  /// True if the field is present and not null.
  bool has(llvm::StringRef key) const;
  /// True if the field holds a string.
  bool isString(llvm::StringRef key) const;
  /// Fails unless the field is absent or null: Kiln does not implement the
  /// feature it turns on (`what`).
  void requireAbsent(llvm::StringRef key, llvm::StringRef what);
  /// Fails unless `numerator` is a multiple of `denominator`.
  void requireDivisible(llvm::StringRef numeratorKey, int64_t numerator,
                        llvm::StringRef denominatorKey, int64_t denominator);

  /// Records `message` about field `key` unless an error is already known.
  void fail(llvm::StringRef key, const llvm::Twine &message);
  /// Records a message about the whole file.
  void fail(const llvm::Twine &message);
  const std::optional<std::string> &getError() const { return error; }

private:
  const llvm::json::Value *lookup(llvm::StringRef key) const;

  const llvm::json::Object &object;
  std::string path;
  std::optional<std::string> error;
};

/// Shape and dim names of one input or output of an entry.
struct TensorSpec {
  std::string name;
  RankedTensorType type;
  /// One name per dim ("" for static dims).
  llvm::SmallVector<std::string> dims;
};

/// Builds a kiln module against a checkpoint.
class ModelBuilder {
public:
  ModelBuilder(MLIRContext *context,
               const ::kiln::safetensors::Checkpoint &checkpoint,
               Config &config);

  ModuleOp getModule() { return *module; }
  OwningOpRef<ModuleOp> takeModule() { return std::move(module); }
  ImplicitLocOpBuilder &builder() { return b; }
  Config &getConfig() { return config; }
  /// The first problem found (config or checkpoint), if any.
  std::optional<std::string> getError() const;

  //===--- Checkpoint ---------------------------------------------------===//

  /// True if the checkpoint holds `name`.
  bool hasTensor(llvm::StringRef name) const;
  /// The first of `prefixes` under which `probe` exists; records an error
  /// (naming every name tried) and returns the first prefix otherwise.
  std::string detectPrefix(llvm::ArrayRef<llvm::StringRef> prefixes,
                           llvm::StringRef probe);
  /// A `kiln.param` for tensor `name`, which must be F32 (or F16/BF16,
  /// widened when the weights are written) of `shape`; the
  /// first of `names` present when several spellings exist.
  Value param(llvm::ArrayRef<std::string> names,
              llvm::ArrayRef<int64_t> shape);
  Value param(const std::string &name, llvm::ArrayRef<int64_t> shape) {
    return param(llvm::ArrayRef<std::string>(name), shape);
  }
  /// `param` if the checkpoint has the tensor, else a null Value.
  Value optionalParam(const std::string &name, llvm::ArrayRef<int64_t> shape);
  /// A LayerNorm's weight and bias under `prefix` ("weight"/"bias", or the
  /// older "gamma"/"beta").
  std::pair<Value, Value> layerNormParams(const std::string &prefix,
                                          int64_t size);

  //===--- Entries ------------------------------------------------------===//

  /// Starts `func.func @name` with the given inputs and outputs and moves
  /// the insertion point into its body; returns the block arguments.
  llvm::SmallVector<Value> beginEntry(llvm::StringRef name,
                                      llvm::ArrayRef<TensorSpec> inputs,
                                      llvm::ArrayRef<TensorSpec> outputs);
  /// Returns `results` from the entry begun last.
  void endEntry(ValueRange results);

  //===--- Types and small ops -----------------------------------------===//

  /// `tensor<...xf32>` (ShapedType::kDynamic for dynamic dims).
  RankedTensorType f32(llvm::ArrayRef<int64_t> shape);
  /// `tensor<...xi64>`.
  RankedTensorType i64(llvm::ArrayRef<int64_t> shape);
  /// Dim `index` of a tensor as an index value.
  Value dim(Value tensor, int64_t index);

  Value linear(Value input, Value weight, Value bias = {},
               WeightLayout layout = WeightLayout::out_in);
  Value layerNorm(Value input, Value weight, Value bias, double epsilon);
  Value rmsNorm(Value input, Value weight, double epsilon);
  Value add(Value lhs, Value rhs);
  Value activation(Activation kind, Value input);
  Value embedding(Value table, Value ids);
  Value splitHeads(Value input, int64_t heads);
  Value mergeHeads(Value input);
  /// `input[..., offset : offset + size]`.
  Value sliceLastDim(Value input, int64_t offset, int64_t size);
  /// `[batch, seq]` i64 position ids `start[b] + s` for `ids` `[batch,
  /// seq]`; `start` (`[batch]` i64) may be null for positions from 0.
  Value positionIds(Value ids, Value start);
  /// `[batch]` i64 zeros, batch taken from dim 0 of `like`.
  Value zerosI64(Value like);
  /// `-exp(x)`, elementwise (Mamba's A from A_log).
  Value negExp(Value input);
  /// `input` (`[batch, seq, ...]`) with the positions where `mask`
  /// (`[batch, seq]`, integer) is zero set to zero, as Hugging Face's
  /// Mamba masks its convolution's input and output.
  Value maskTokens(Value input, Value mask);
  /// Reshapes by merging dims according to `reassociation`.
  Value collapse(Value input,
                 llvm::ArrayRef<ReassociationIndices> reassociation);

  /// Layer `layer` of a `[layers, ...]` tensor, as `[...]`.
  Value extractLayer(Value stacked, int64_t layer);
  /// `stacked` with layer `layer` replaced by `value`.
  Value insertLayer(Value value, Value stacked, int64_t layer);
  /// An uninitialised `[layers, shape...]` tensor whose dynamic dims take
  /// their sizes from `dynamicSizes`.
  Value emptyStacked(RankedTensorType type, ValueRange dynamicSizes);

private:
  /// Records `message` unless an error is already known.
  void fail(const llvm::Twine &message);

  const ::kiln::safetensors::Checkpoint &checkpoint;
  Config &config;
  OwningOpRef<ModuleOp> module;
  ImplicitLocOpBuilder b;
  func::FuncOp currentEntry;
  std::optional<std::string> error;
};

/// Builders of the families; each returns after filling `builder`'s module
/// (errors are left in the builder).
void importBert(ModelBuilder &builder);
void importLlama(ModelBuilder &builder);
void importGpt2(ModelBuilder &builder);
void importMamba(ModelBuilder &builder);

} // namespace hf
} // namespace kiln
} // namespace mlir

#endif // KILN_LIB_TARGET_HUGGINGFACE_MODELBUILDER_H
