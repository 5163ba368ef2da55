//===- LoweringUtils.h - Shared helpers of the kiln lowering ----*- C++ -*-===//
//
// Part of Kiln. Builders shared by the per-family lowering files: shapes of
// dynamic tensors, f32 accumulation, pointwise activations, the linear
// projection, and the reshapes that let the variable-length forms reuse the
// padded lowerings one sequence at a time.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_CONVERSION_KILNTOLINALG_LOWERINGUTILS_H
#define KILN_LIB_CONVERSION_KILNTOLINALG_LOWERINGUTILS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kiln {
namespace lowering {

/// The sizes of all dims of the ranked tensor `value`: attributes for static
/// dims, `tensor.dim` results for dynamic ones.
SmallVector<OpFoldResult> getSizes(OpBuilder &b, Location loc, Value value);

/// The size of dim `dim` of `value` as an index value.
Value getDimValue(OpBuilder &b, Location loc, Value value, int64_t dim);

/// An index constant.
Value indexConst(OpBuilder &b, Location loc, int64_t value);

/// A float constant of type `type`.
Value floatConst(OpBuilder &b, Location loc, Type type, double value);

/// Negative infinity of float type `type`.
Value negInfConst(OpBuilder &b, Location loc, Type type);

/// A `tensor.empty` of `sizes` and `elementType`.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

/// A tensor of `sizes` filled with `value` by `linalg.fill`.
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   Type elementType, double value);

/// The type arithmetic on `elementType` is done in: f32 for narrower floats
/// (f16, bf16, fp8) so that reductions do not lose precision, else itself.
Type accumulatorType(Type elementType);

/// Converts a scalar float between types (extf/truncf); no-op when equal.
Value convertFloat(OpBuilder &b, Location loc, Value value, Type type);

/// Reads `tensor[indices]` (an integer tensor) and casts it to index.
Value extractAsIndex(OpBuilder &b, Location loc, Value tensor,
                     ValueRange indices);

/// Casts `value` to `type` with tensor.cast when the static info differs.
Value castToType(OpBuilder &b, Location loc, Value value, Type type);

/// Applies the scalar activation `kind` to `x`.
Value applyActivation(OpBuilder &b, Location loc, Activation kind, Value x);

/// `input @ W^T + bias + residual` over the last dim of `input` (any rank
/// >= 1): the leading dims are collapsed into M for one `linalg.matmul`
/// whose init is the residual plus the broadcast bias (either or neither:
/// zeros), then expanded back. An out_in weight is read transposed through
/// the matmul's indexing maps, never copied.
Value buildLinear(OpBuilder &b, Location loc, Value input, Value weight,
                  Value bias, WeightLayout layout, Value residual = Value());

/// `[n, ...] -> [1, n, ...]`: views one sequence of a packed tensor as a
/// padded batch of one.
Value prependUnitDim(OpBuilder &b, Location loc, Value value);

/// `[1, n, ...] -> [n, ...]`, the inverse of `prependUnitDim`.
Value dropLeadingUnitDim(OpBuilder &b, Location loc, Value value);

/// Slices rows `[offset, offset + size)` of dim 0 of `value`, keeping all
/// other dims whole.
Value sliceDim0(OpBuilder &b, Location loc, Value value, OpFoldResult offset,
                OpFoldResult size);

/// Slices `[offset, offset + size)` of the last dim of `value`, keeping all
/// other dims whole.
Value sliceLastDim(OpBuilder &b, Location loc, Value value, int64_t offset,
                   int64_t size);

/// Inserts `source` into `dest` at `offset` along dim 0 (other offsets 0);
/// `source` has the rank of `dest`.
Value insertDim0(OpBuilder &b, Location loc, Value source, Value dest,
                 OpFoldResult offset);

/// `[start, length]` of sequence `seq` from `cu_seqlens` as index values.
std::pair<Value, Value> sequenceBounds(OpBuilder &b, Location loc,
                                       Value cuSeqlens, Value seq);

/// Builds a `linalg.generic` writing `init` with identity map on its loops
/// that are not reductions; `inputMaps` index the `inputs`, `iterators` give
/// the loop kinds (reductions must come last) and `body` computes the new
/// output element from the block arguments (inputs then the output).
Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                   ArrayRef<AffineMap> inputMaps, Value init,
                   ArrayRef<utils::IteratorType> iterators,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> body);

/// Elementwise `linalg.generic` over `init`'s shape where every input has the
/// shape of `init` too.
Value buildElementwise(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body);

/// The map from `numDims` loops to `dims`.
AffineMap dimsMap(MLIRContext *ctx, unsigned numDims, ArrayRef<unsigned> dims);

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// What one attention computes, independent of its layout.
struct AttentionConfig {
  int64_t numHeads;
  int64_t numKvHeads;
  double scale;
  MaskAttr mask;
  SoftmaxAttr softmax;
};

/// True if buildFlashAttention handles this attention: padded layout, f32,
/// head dims a multiple of 8, mask none/causal/padding/sliding_window and
/// the standard softmax.
bool canUseFlashAttention(const AttentionConfig &config, Value query,
                          Value key, Value value);

/// The fused attention kernel (FlashAttention.cpp) on the padded layout:
/// same operands and result as the reference lowering's
/// buildPaddedAttention; in the KV-cache form `key`/`value` are the updated
/// caches and `positions` is set.
Value buildFlashAttention(OpBuilder &b, Location loc,
                          const AttentionConfig &config, Value query,
                          Value key, Value value, Value keyMask,
                          Value positions);

//===----------------------------------------------------------------------===//
// Pattern registration, one function per op family.
//===----------------------------------------------------------------------===//

void populateLinearPatterns(RewritePatternSet &patterns);
void populateSparseLinearPatterns(RewritePatternSet &patterns);
void populatePointwisePatterns(RewritePatternSet &patterns);
void populateNormPatterns(RewritePatternSet &patterns);
/// With `flash`, attentions canUseFlashAttention accepts take the fused
/// kernel; the rest (and all of them without `flash`) the reference.
void populateAttentionPatterns(RewritePatternSet &patterns, bool flash);
void populateStateSpacePatterns(RewritePatternSet &patterns);
void populatePackPatterns(RewritePatternSet &patterns);

} // namespace lowering
} // namespace kiln
} // namespace mlir

#endif // KILN_LIB_CONVERSION_KILNTOLINALG_LOWERINGUTILS_H
