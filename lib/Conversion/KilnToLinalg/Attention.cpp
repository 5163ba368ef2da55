//===- Attention.cpp - Lower kiln.attention -------------------------------===//
//
// Part of Kiln. The reference lowering of attention: explicit score tensors
// and a numerically stable softmax (subtract the row max), correct for every
// mask kind, GQA/MQA, the clipped softmax, the packed variable-length layout
// and the KV-cache form. The fused kernel (FlashAttention.cpp) replaces it
// where it applies; this one defines the numbers that kernel must reproduce.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

using utils::IteratorType;

/// True when the query at absolute position `qPos` may see the key at `kPos`
/// under the mask kind (key_mask and the cache limit are applied apart).
Value maskAllows(OpBuilder &b, Location loc, MaskAttr mask, Value qPos,
                 Value kPos) {
  auto cmp = [&](arith::CmpIPredicate pred, Value lhs, Value rhs) -> Value {
    return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
  };
  auto both = [&](Value lhs, Value rhs) -> Value {
    return arith::AndIOp::create(b, loc, lhs, rhs);
  };
  auto either = [&](Value lhs, Value rhs) -> Value {
    return arith::OrIOp::create(b, loc, lhs, rhs);
  };
  switch (mask.getKind()) {
  case MaskKind::none:
  case MaskKind::padding:
    return arith::ConstantIntOp::create(b, loc, 1, 1);
  case MaskKind::causal:
    return cmp(arith::CmpIPredicate::sle, kPos, qPos);
  case MaskKind::sliding_window: {
    // qPos - window < kPos, written without a negative intermediate.
    Value shifted = arith::AddIOp::create(b, loc, kPos,
                                          indexConst(b, loc, mask.getWindow()));
    return both(cmp(arith::CmpIPredicate::sle, kPos, qPos),
                cmp(arith::CmpIPredicate::sgt, shifted, qPos));
  }
  case MaskKind::block_sparse: {
    Value blockSize = indexConst(b, loc, mask.getBlockSize());
    Value qBlock = arith::DivUIOp::create(b, loc, qPos, blockSize);
    Value kBlock = arith::DivUIOp::create(b, loc, kPos, blockSize);
    Value distance = arith::SubIOp::create(
        b, loc, arith::MaxUIOp::create(b, loc, qBlock, kBlock),
        arith::MinUIOp::create(b, loc, qBlock, kBlock));
    Value local = cmp(arith::CmpIPredicate::ult, distance,
                      indexConst(b, loc, mask.getLocalBlocks()));
    Value globals = indexConst(b, loc, mask.getGlobalBlocks());
    Value global = either(cmp(arith::CmpIPredicate::ult, qBlock, globals),
                          cmp(arith::CmpIPredicate::ult, kBlock, globals));
    return either(local, global);
  }
  }
  return arith::ConstantIntOp::create(b, loc, 1, 1);
}

/// Attention on the padded layout: `query` [B, Sq, H, D], `key` [B, Skv, KVH,
/// D], `value` [B, Skv, KVH, E]. `keyMask` ([B, Skv]) is optional;
/// `positions` ([B]) is set in the KV-cache form, where query i sits at
/// positions[b] + i and only keys below positions[b] + Sq exist yet.
/// Returns [B, Sq, H, E] in the query's element type.
///
/// The query heads are viewed as [KVH, G] (G = H / KVH) so that query head
/// kh * G + g reads KV head kh through plain affine maps: no K/V copies.
Value buildPaddedAttention(OpBuilder &b, Location loc,
                           const AttentionConfig &config, Value query,
                           Value key, Value value, Value keyMask,
                           Value positions) {
  MLIRContext *ctx = b.getContext();
  auto qType = cast<RankedTensorType>(query.getType());
  Type elementType = qType.getElementType();
  Type acc = accumulatorType(elementType);
  int64_t group = config.numHeads / config.numKvHeads;
  int64_t headDim = qType.getDimSize(3);
  int64_t valueDim = cast<RankedTensorType>(value.getType()).getDimSize(3);

  SmallVector<OpFoldResult> qSizes = getSizes(b, loc, query);
  OpFoldResult batch = qSizes[0], qLen = qSizes[1];
  OpFoldResult kvLen = tensor::getMixedSize(b, loc, key, 1);
  OpFoldResult kvHeads = b.getIndexAttr(config.numKvHeads);
  OpFoldResult groupSize = b.getIndexAttr(group);

  Value grouped = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                             config.numKvHeads, group, headDim},
                            elementType),
      query, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}},
      ArrayRef<OpFoldResult>{batch, qLen, kvHeads, groupSize,
                             b.getIndexAttr(headDim)});

  // scores[b, kh, g, i, j] = sum_d q[b, i, kh, g, d] * k[b, j, kh, d].
  SmallVector<OpFoldResult> scoreSizes{batch, kvHeads, groupSize, qLen, kvLen};
  SmallVector<IteratorType> scoreLoops(5, IteratorType::parallel);
  scoreLoops.push_back(IteratorType::reduction);
  Value scores = buildGeneric(
      b, loc, ValueRange{grouped, key},
      {dimsMap(ctx, 6, {0, 3, 1, 2, 5}), dimsMap(ctx, 6, {0, 4, 1, 5})},
      filledTensor(b, loc, scoreSizes, acc, 0.0), scoreLoops,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value product =
            arith::MulFOp::create(nb, l, convertFloat(nb, l, args[0], acc),
                                  convertFloat(nb, l, args[1], acc));
        return arith::AddFOp::create(nb, l, args[2], product);
      });

  // Scale, then hide masked keys with -inf.
  Value scale = floatConst(b, loc, acc, config.scale);
  Value negInf = negInfConst(b, loc, acc);
  Value qLenValue = getValueOrCreateConstantIndexOp(b, loc, qLen);
  Value logits = buildElementwise(
      b, loc, ValueRange{scores}, emptyTensor(b, loc, scoreSizes, acc),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value bIdx = linalg::IndexOp::create(nb, l, 0);
        Value qPos = linalg::IndexOp::create(nb, l, 3);
        Value kPos = linalg::IndexOp::create(nb, l, 4);
        Value allowed;
        if (positions) {
          Value offset = extractAsIndex(nb, l, positions, ValueRange{bIdx});
          Value limit = arith::AddIOp::create(nb, l, offset, qLenValue);
          qPos = arith::AddIOp::create(nb, l, qPos, offset);
          allowed = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                          kPos, limit);
        }
        Value kindAllows = maskAllows(nb, l, config.mask, qPos, kPos);
        allowed = allowed ? arith::AndIOp::create(nb, l, allowed, kindAllows)
                          : kindAllows;
        if (keyMask) {
          Value flag =
              tensor::ExtractOp::create(nb, l, keyMask, ValueRange{bIdx, kPos});
          Value zero = arith::ConstantIntOp::create(nb, l, flag.getType(), 0);
          Value real = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ne,
                                             flag, zero);
          allowed = arith::AndIOp::create(nb, l, allowed, real);
        }
        Value scaled = arith::MulFOp::create(nb, l, args[0], scale);
        return arith::SelectOp::create(nb, l, allowed, scaled, negInf);
      });

  SmallVector<OpFoldResult> rowSizes(scoreSizes.begin(), scoreSizes.end() - 1);
  SmallVector<IteratorType> rowLoops(4, IteratorType::parallel);
  rowLoops.push_back(IteratorType::reduction);
  AffineMap full = b.getMultiDimIdentityMap(5);
  AffineMap row = dimsMap(ctx, 5, {0, 1, 2, 3});
  Value rowMax =
      buildGeneric(b, loc, ValueRange{logits}, {full},
                   filledTensor(b, loc, rowSizes, acc, -INFINITY), rowLoops,
                   [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                     return arith::MaximumFOp::create(nb, l, args[0], args[1]);
                   });
  // A row whose keys are all hidden has max -inf: its terms are 0, not
  // exp(-inf - -inf) = NaN, so its sum stays 0 and its output zeros.
  auto shiftedExp = [&](OpBuilder &nb, Location l, Value s, Value m) -> Value {
    Value empty =
        arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, m, negInf);
    Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, s, m));
    return arith::SelectOp::create(nb, l, empty, floatConst(nb, l, acc, 0.0),
                                   e);
  };
  Value rowSum =
      buildGeneric(b, loc, ValueRange{logits, rowMax}, {full, row},
                   filledTensor(b, loc, rowSizes, acc, 0.0), rowLoops,
                   [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                     return arith::AddFOp::create(
                         nb, l, args[2], shiftedExp(nb, l, args[0], args[1]));
                   });

  SoftmaxAttr softmax = config.softmax;
  bool clipped = softmax.getKind() == SoftmaxKind::clipped;
  double zeta = softmax.getZeta().convertToDouble();
  double gamma = softmax.getGamma().convertToDouble();
  SmallVector<IteratorType> allParallel(5, IteratorType::parallel);
  Value probs =
      buildGeneric(b, loc, ValueRange{logits, rowMax, rowSum}, {full, row, row},
                   emptyTensor(b, loc, scoreSizes, acc), allParallel,
                   [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                     Value zero = floatConst(nb, l, acc, 0.0);
                     Value p = arith::DivFOp::create(
                         nb, l, shiftedExp(nb, l, args[0], args[1]), args[2]);
                     if (clipped) {
                       p = arith::AddFOp::create(
                           nb, l,
                           arith::MulFOp::create(
                               nb, l, p, floatConst(nb, l, acc, zeta - gamma)),
                           floatConst(nb, l, acc, gamma));
                       p = arith::MinimumFOp::create(
                           nb, l, arith::MaximumFOp::create(nb, l, p, zero),
                           floatConst(nb, l, acc, 1.0));
                     }
                     Value live = arith::CmpFOp::create(
                         nb, l, arith::CmpFPredicate::OGT, args[2], zero);
                     return arith::SelectOp::create(nb, l, live, p, zero);
                   });

  // out[b, i, kh, g, e] = sum_j p[b, kh, g, i, j] * v[b, j, kh, e].
  SmallVector<OpFoldResult> outSizes{batch, qLen, kvHeads, groupSize,
                                     b.getIndexAttr(valueDim)};
  Value out = buildGeneric(
      b, loc, ValueRange{probs, value},
      {dimsMap(ctx, 6, {0, 2, 3, 1, 5}), dimsMap(ctx, 6, {0, 5, 2, 4})},
      filledTensor(b, loc, outSizes, acc, 0.0), scoreLoops,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value product = arith::MulFOp::create(
            nb, l, args[0], convertFloat(nb, l, args[1], acc));
        return arith::AddFOp::create(nb, l, args[2], product);
      });
  if (acc != elementType)
    out = buildElementwise(b, loc, ValueRange{out},
                           emptyTensor(b, loc, outSizes, elementType),
                           [&](OpBuilder &nb, Location l, ValueRange args) {
                             return convertFloat(nb, l, args[0], elementType);
                           });
  auto outType = cast<RankedTensorType>(out.getType());
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({outType.getDimSize(0), outType.getDimSize(1),
                             config.numHeads, valueDim},
                            elementType),
      out, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
}

/// Writes the new rows of each sequence into the caches at positions[b]:
/// returns the updated (k_cache, v_cache).
std::pair<Value, Value> writeCaches(OpBuilder &b, Location loc, Value kCache,
                                    Value vCache, Value key, Value value,
                                    Value positions) {
  Value zero = indexConst(b, loc, 0);
  Value one = indexConst(b, loc, 1);
  Value batch = getDimValue(b, loc, key, 0);
  Value newRows = getDimValue(b, loc, key, 1);
  Value capacity = getDimValue(b, loc, kCache, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, batch, one, ValueRange{kCache, vCache},
      [&](OpBuilder &nb, Location l, Value seq, ValueRange caches) {
        Value start = extractAsIndex(nb, l, positions, ValueRange{seq});
        // positions[b] comes from the caller: a write outside the cache
        // would corrupt memory, so it ends the call instead.
        Value end = arith::AddIOp::create(nb, l, start, newRows);
        Value inCache = arith::AndIOp::create(
            nb, l,
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, start,
                                  zero),
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sle, end,
                                  capacity));
        cf::AssertOp::create(
            nb, l, inCache,
            "attention: KV-cache write outside the cache: positions[b] "
            "must be >= 0 and positions[b] + new tokens <= the cache "
            "capacity");
        SmallVector<Value> updated;
        SmallVector<Value, 2> newRows{key, value};
        for (auto [rows, cache] : llvm::zip(newRows, caches)) {
          SmallVector<OpFoldResult> sizes = getSizes(nb, l, rows);
          sizes[0] = nb.getIndexAttr(1);
          SmallVector<OpFoldResult> strides(4, nb.getIndexAttr(1));
          SmallVector<OpFoldResult> from{
              seq, nb.getIndexAttr(0), nb.getIndexAttr(0), nb.getIndexAttr(0)};
          Value slice =
              tensor::ExtractSliceOp::create(nb, l, rows, from, sizes, strides);
          SmallVector<OpFoldResult> to{seq, start, nb.getIndexAttr(0),
                                       nb.getIndexAttr(0)};
          updated.push_back(tensor::InsertSliceOp::create(nb, l, slice, cache,
                                                          to, sizes, strides));
        }
        scf::YieldOp::create(nb, l, updated);
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// The packed layout: one padded attention of batch 1 per sequence, its
/// tokens sliced out by cu_seqlens and the result inserted back in place.
Value buildPackedAttention(OpBuilder &b, Location loc,
                           const AttentionConfig &config, Value query,
                           Value key, Value value, Value cuSeqlens) {
  Type elementType = cast<RankedTensorType>(query.getType()).getElementType();
  int64_t valueDim = cast<RankedTensorType>(value.getType()).getDimSize(2);
  SmallVector<OpFoldResult> outSizes{tensor::getMixedSize(b, loc, query, 0),
                                     b.getIndexAttr(config.numHeads),
                                     b.getIndexAttr(valueDim)};
  // Tokens outside every sequence (none, for a well-formed cu_seqlens) read
  // as zeros rather than uninitialized memory.
  Value init = filledTensor(b, loc, outSizes, elementType, 0.0);
  Value zero = indexConst(b, loc, 0);
  Value one = indexConst(b, loc, 1);
  Value numSeqs =
      arith::SubIOp::create(b, loc, getDimValue(b, loc, cuSeqlens, 0), one);
  auto loop = scf::ForOp::create(
      b, loc, zero, numSeqs, one, ValueRange{init},
      [&](OpBuilder &nb, Location l, Value seq, ValueRange iterArgs) {
        auto [start, length] = sequenceBounds(nb, l, cuSeqlens, seq);
        auto sequence = [&](Value tensor) {
          return prependUnitDim(nb, l, sliceDim0(nb, l, tensor, start, length));
        };
        Value attended =
            buildPaddedAttention(nb, l, config, sequence(query), sequence(key),
                                 sequence(value), Value(), Value());
        Value tokens = dropLeadingUnitDim(nb, l, attended);
        scf::YieldOp::create(
            nb, l, ValueRange{insertDim0(nb, l, tokens, iterArgs[0], start)});
      });
  return loop.getResult(0);
}

struct AttentionLowering : OpConversionPattern<AttentionOp> {
  AttentionLowering(MLIRContext *ctx, bool flash)
      : OpConversionPattern(ctx), flash(flash) {}
  bool flash;

  /// The padded attention: the fused kernel when it applies.
  Value buildPadded(OpBuilder &b, Location loc, const AttentionConfig &config,
                    Value query, Value key, Value value, Value keyMask,
                    Value positions) const {
    if (flash && canUseFlashAttention(config, query, key, value))
      return buildFlashAttention(b, loc, config, query, key, value, keyMask,
                                 positions);
    return buildPaddedAttention(b, loc, config, query, key, value, keyMask,
                                positions);
  }

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MaskAttr mask = op.getMask();
    if (mask.getKind() == MaskKind::block_sparse && mask.getBlockSize() <= 0)
      return rewriter.notifyMatchFailure(op, "block_sparse needs block > 0");
    AttentionConfig config{static_cast<int64_t>(op.getNumHeads()),
                           static_cast<int64_t>(op.getNumKvHeads()),
                           op.getScaleOrDefault(), mask, op.getSoftmax()};

    if (op.isPacked()) {
      Value out = buildPackedAttention(
          rewriter, loc, config, adaptor.getQuery(), adaptor.getKey(),
          adaptor.getValue(), adaptor.getCuSeqlens());
      rewriter.replaceOp(
          op, castToType(rewriter, loc, out, op.getOutput().getType()));
      return success();
    }

    if (Value positions = adaptor.getPositions()) {
      auto [kCache, vCache] =
          writeCaches(rewriter, loc, adaptor.getKCache(), adaptor.getVCache(),
                      adaptor.getKey(), adaptor.getValue(), positions);
      Value out = buildPadded(rewriter, loc, config, adaptor.getQuery(),
                              kCache, vCache, adaptor.getKeyMask(), positions);
      rewriter.replaceOp(op, ValueRange{castToType(rewriter, loc, out,
                                                   op.getOutput().getType()),
                                        kCache, vCache});
      return success();
    }

    Value out = buildPadded(rewriter, loc, config, adaptor.getQuery(),
                            adaptor.getKey(), adaptor.getValue(),
                            adaptor.getKeyMask(), Value());
    rewriter.replaceOp(
        op, castToType(rewriter, loc, out, op.getOutput().getType()));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateAttentionPatterns(
    RewritePatternSet &patterns, bool flash) {
  patterns.add<AttentionLowering>(patterns.getContext(), flash);
}
