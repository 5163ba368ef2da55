//===- FlashAttention.cpp - Fused attention with an online softmax --------===//
//
// Part of Kiln. The fast lowering of padded kiln.attention: FlashAttention-2's
// online softmax, one query row at a time, keys in blocks of eight. No score
// matrix exists: per row the kernel keeps a running max, a running sum and
// the output accumulator in registers (vector<8xf32> pieces), so memory is
// O(head_dim) per row. Causal and sliding-window masks bound the key loop
// (whole blocks outside the mask are never visited); the key mask hides keys
// inside a block. Work is split over (batch, head) with scf.forall; query
// head h reads KV head h / (heads / kv_heads), so GQA never copies K/V.
// The reference lowering (Attention.cpp) defines the numbers this must match.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Lanes of the vector pieces rows are cut into (one AVX2 register of f32).
constexpr int64_t kLanes = 8;
/// Keys per block of the main key loop.
constexpr int64_t kKeyBlock = 8;

/// The running state of one query row: max, sum and output pieces.
struct RowState {
  Value max, sum;
  SmallVector<Value> out;

  SmallVector<Value> flatten() const {
    SmallVector<Value> values = {max, sum};
    llvm::append_range(values, out);
    return values;
  }
  static RowState unflatten(ValueRange values) {
    RowState state;
    state.max = values[0];
    state.sum = values[1];
    state.out.assign(values.begin() + 2, values.end());
    return state;
  }
};

/// Builds the kernel for one attention op.
class FlashAttentionBuilder {
public:
  FlashAttentionBuilder(OpBuilder &b, Location loc, const AttentionConfig &config,
                        Value query, Value key, Value value, Value keyMask,
                        Value positions)
      : b(b), loc(loc), config(config), query(query), key(key), value(value),
        keyMask(keyMask), positions(positions) {
    auto qType = cast<RankedTensorType>(query.getType());
    headDim = qType.getDimSize(3);
    valueDim = cast<RankedTensorType>(value.getType()).getDimSize(3);
    f32 = b.getF32Type();
    lane = VectorType::get({kLanes}, f32);
  }

  Value build();

private:
  Value index(OpBuilder &nb, int64_t v) { return indexConst(nb, loc, v); }
  Value f32Const(OpBuilder &nb, double v) {
    return arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(v));
  }
  /// An in-bounds read of 8 f32 (the padding value is never used; an
  /// explicit one keeps the IR within the conversion's legal dialects).
  Value read(OpBuilder &nb, Value source, ValueRange indices) {
    return vector::TransferReadOp::create(nb, loc, lane, source, indices,
                                          f32Const(nb, 0.0),
                                          ArrayRef<bool>{true});
  }
  /// Scores of keys `j .. j + n - 1` against the (scaled) query pieces.
  Value scores(OpBuilder &nb, Value batch, Value kvHead, ArrayRef<Value> q,
               Value j, int64_t n);
  /// Folds keys `j .. j + n - 1` into `state`.
  RowState visitKeys(OpBuilder &nb, Value batch, Value kvHead,
                     ArrayRef<Value> q, Value j, int64_t n,
                     const RowState &state);
  /// Output row `i` of head `head`, written into `tile` ([q_len, E]).
  Value row(OpBuilder &nb, Value batch, Value head, Value offset, Value limit,
            Value i, Value tile);

  OpBuilder &b;
  Location loc;
  const AttentionConfig &config;
  Value query, key, value, keyMask, positions;
  int64_t headDim, valueDim;
  Type f32;
  VectorType lane;
};

Value FlashAttentionBuilder::scores(OpBuilder &nb, Value batch, Value kvHead,
                                    ArrayRef<Value> q, Value j, int64_t n) {
  SmallVector<Value> dots;
  for (int64_t t = 0; t < n; ++t) {
    Value keyPos = t ? arith::AddIOp::create(nb, loc, j, index(nb, t)) : j;
    Value partial;
    for (auto [c, piece] : llvm::enumerate(q)) {
      Value k = read(nb, key, {batch, keyPos, kvHead, index(nb, c * kLanes)});
      partial = partial ? vector::FMAOp::create(nb, loc, piece, k, partial)
                        : arith::MulFOp::create(nb, loc, piece, k).getResult();
    }
    dots.push_back(vector::ReductionOp::create(
        nb, loc, vector::CombiningKind::ADD, partial));
  }
  Value s = vector::FromElementsOp::create(
      nb, loc, VectorType::get({n}, f32), dots);
  if (!keyMask)
    return s;
  // Hidden keys score -inf: exp() turns them into zero weight.
  Type flagType = cast<RankedTensorType>(keyMask.getType()).getElementType();
  auto flagVector = VectorType::get({n}, flagType);
  Value flagZero = arith::ConstantOp::create(nb, loc, nb.getZeroAttr(flagType));
  Value flags = vector::TransferReadOp::create(
      nb, loc, flagVector, keyMask, ValueRange{batch, j}, flagZero,
      ArrayRef<bool>{true});
  Value zero = arith::ConstantOp::create(
      nb, loc, DenseElementsAttr::get(flagVector, nb.getZeroAttr(flagType)));
  Value real =
      arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ne, flags, zero);
  Value negInf = vector::BroadcastOp::create(
      nb, loc, s.getType(), f32Const(nb, -INFINITY));
  return arith::SelectOp::create(nb, loc, real, s, negInf);
}

RowState FlashAttentionBuilder::visitKeys(OpBuilder &nb, Value batch,
                                          Value kvHead, ArrayRef<Value> q,
                                          Value j, int64_t n,
                                          const RowState &state) {
  Value s = scores(nb, batch, kvHead, q, j, n);
  Value blockMax =
      vector::ReductionOp::create(nb, loc, vector::CombiningKind::MAXIMUMF, s);
  Value newMax = arith::MaximumFOp::create(nb, loc, state.max, blockMax);
  // While every key seen is hidden the max is -inf; shifting by 0 instead
  // keeps exp() at exp(-inf) = 0 rather than NaN.
  Value negInf = f32Const(nb, -INFINITY);
  Value allHidden = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ,
                                          newMax, negInf);
  Value shift =
      arith::SelectOp::create(nb, loc, allHidden, f32Const(nb, 0.0), newMax);
  Value correction = math::ExpOp::create(
      nb, loc, arith::SubFOp::create(nb, loc, state.max, shift));
  Value shiftVector = vector::BroadcastOp::create(nb, loc, s.getType(), shift);
  Value p = math::ExpOp::create(
      nb, loc, arith::SubFOp::create(nb, loc, s, shiftVector));
  Value blockSum =
      vector::ReductionOp::create(nb, loc, vector::CombiningKind::ADD, p);
  RowState next;
  next.max = newMax;
  next.sum = arith::AddFOp::create(
      nb, loc, arith::MulFOp::create(nb, loc, state.sum, correction),
      blockSum);
  Value correctionVector = vector::BroadcastOp::create(nb, loc, lane, correction);
  for (Value piece : state.out)
    next.out.push_back(arith::MulFOp::create(nb, loc, piece, correctionVector));
  for (int64_t t = 0; t < n; ++t) {
    Value keyPos = t ? arith::AddIOp::create(nb, loc, j, index(nb, t)) : j;
    Value weight = vector::ExtractOp::create(nb, loc, p, ArrayRef<int64_t>{t});
    Value weights = vector::BroadcastOp::create(nb, loc, lane, weight);
    for (size_t c = 0; c < next.out.size(); ++c) {
      Value v = read(nb, value,
                     {batch, keyPos, kvHead, index(nb, int64_t(c) * kLanes)});
      next.out[c] = vector::FMAOp::create(nb, loc, weights, v, next.out[c]);
    }
  }
  return next;
}

Value FlashAttentionBuilder::row(OpBuilder &nb, Value batch, Value head,
                                 Value offset, Value limit, Value i,
                                 Value tile) {
  Value kvHead = arith::DivUIOp::create(
      nb, loc, head, index(nb, config.numHeads / config.numKvHeads));
  Value scale = vector::BroadcastOp::create(nb, loc, lane,
                                            f32Const(nb, config.scale));
  SmallVector<Value> q;
  for (int64_t c = 0; c < headDim / kLanes; ++c)
    q.push_back(arith::MulFOp::create(
        nb, loc, read(nb, query, {batch, i, head, index(nb, c * kLanes)}),
        scale));

  // Keys [begin, end) can be visible to this row.
  Value position = arith::AddIOp::create(nb, loc, offset, i);
  Value end = limit, begin = index(nb, 0);
  MaskKind kind = config.mask.getKind();
  if (kind == MaskKind::causal || kind == MaskKind::sliding_window)
    end = arith::MinUIOp::create(
        nb, loc, limit, arith::AddIOp::create(nb, loc, position, index(nb, 1)));
  if (kind == MaskKind::sliding_window) {
    // max(0, position + 1 - window), without a negative intermediate.
    Value window = index(nb, config.mask.getWindow());
    Value reach = arith::AddIOp::create(nb, loc, position, index(nb, 1));
    Value past = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ugt,
                                       reach, window);
    begin = arith::SelectOp::create(
        nb, loc, past, arith::SubIOp::create(nb, loc, reach, window), begin);
  }
  Value span = arith::SubIOp::create(nb, loc, end, begin);
  Value blocks = arith::MulIOp::create(
      nb, loc,
      arith::DivUIOp::create(nb, loc, span, index(nb, kKeyBlock)),
      index(nb, kKeyBlock));
  Value middle = arith::AddIOp::create(nb, loc, begin, blocks);

  RowState state;
  state.max = f32Const(nb, -INFINITY);
  state.sum = f32Const(nb, 0.0);
  Value zeros = vector::BroadcastOp::create(nb, loc, lane, f32Const(nb, 0.0));
  state.out.assign(valueDim / kLanes, zeros);
  auto keyLoop = [&](Value from, Value to, int64_t step, const RowState &init) {
    auto loop = scf::ForOp::create(
        nb, loc, from, to, index(nb, step), init.flatten(),
        [&](OpBuilder &lb, Location, Value j, ValueRange iter) {
          RowState next = visitKeys(lb, batch, kvHead, q, j, step,
                                    RowState::unflatten(iter));
          scf::YieldOp::create(lb, loc, next.flatten());
        });
    return RowState::unflatten(loop.getResults());
  };
  state = keyLoop(begin, middle, kKeyBlock, state);
  state = keyLoop(middle, end, 1, state);

  // A row that saw no visible key has sum 0 and outputs zeros.
  Value live = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OGT,
                                     state.sum, f32Const(nb, 0.0));
  Value inverse = arith::SelectOp::create(
      nb, loc, live,
      arith::DivFOp::create(nb, loc, f32Const(nb, 1.0), state.sum),
      f32Const(nb, 0.0));
  Value inverseVector = vector::BroadcastOp::create(nb, loc, lane, inverse);
  for (auto [c, piece] : llvm::enumerate(state.out)) {
    Value scaled = arith::MulFOp::create(nb, loc, piece, inverseVector);
    tile = vector::TransferWriteOp::create(nb, loc, scaled, tile,
                                           ValueRange{i, index(nb, c * kLanes)},
                                           ArrayRef<bool>{true})
               .getResult();
  }
  return tile;
}

Value FlashAttentionBuilder::build() {
  Value batchSize = getDimValue(b, loc, query, 0);
  Value qLen = getDimValue(b, loc, query, 1);
  Value kvLen = getDimValue(b, loc, key, 1);
  SmallVector<OpFoldResult> outSizes = {batchSize, qLen,
                                        b.getIndexAttr(config.numHeads),
                                        b.getIndexAttr(valueDim)};
  Value out = emptyTensor(b, loc, outSizes, f32);
  SmallVector<OpFoldResult> lower = {b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> upper = {batchSize,
                                     b.getIndexAttr(config.numHeads)};
  SmallVector<OpFoldResult> steps = {b.getIndexAttr(1), b.getIndexAttr(1)};
  auto forall = scf::ForallOp::create(
      b, loc, lower, upper, steps, ValueRange{out}, std::nullopt,
      [&](OpBuilder &nb, Location, ValueRange args) {
        Value batch = args[0], head = args[1], shared = args[2];
        // In the KV-cache form query i sits at positions[b] + i and only
        // keys below positions[b] + q_len exist yet.
        Value offset = index(nb, 0), limit = kvLen;
        if (positions) {
          offset = extractAsIndex(nb, loc, positions, ValueRange{batch});
          limit = arith::AddIOp::create(nb, loc, offset, qLen);
        }
        SmallVector<OpFoldResult> sliceOffsets = {batch, nb.getIndexAttr(0),
                                                  head, nb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sliceSizes = {
            nb.getIndexAttr(1), qLen, nb.getIndexAttr(1),
            nb.getIndexAttr(valueDim)};
        SmallVector<OpFoldResult> unit(4, nb.getIndexAttr(1));
        auto tileType =
            RankedTensorType::get({ShapedType::kDynamic, valueDim}, f32);
        Value tile = tensor::ExtractSliceOp::create(
            nb, loc, tileType, shared, sliceOffsets, sliceSizes, unit);
        auto rows = scf::ForOp::create(
            nb, loc, index(nb, 0), qLen, index(nb, 1), ValueRange{tile},
            [&](OpBuilder &rb, Location, Value i, ValueRange iter) {
              scf::YieldOp::create(
                  rb, loc,
                  row(rb, batch, head, offset, limit, i, iter[0]));
            });
        auto terminator = scf::InParallelOp::create(nb, loc);
        nb.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(nb, loc, rows.getResult(0),
                                              shared, sliceOffsets, sliceSizes,
                                              unit);
      });
  return forall.getResult(0);
}

} // namespace

bool mlir::kiln::lowering::canUseFlashAttention(
    const AttentionConfig &config, Value query, Value key, Value value) {
  auto f32Tensor = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType().isF32();
  };
  auto lastDim = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape().back();
  };
  MaskKind kind = config.mask.getKind();
  return f32Tensor(query) && f32Tensor(key) && f32Tensor(value) &&
         cast<RankedTensorType>(query.getType()).getRank() == 4 &&
         !ShapedType::isDynamic(lastDim(query)) && lastDim(query) % kLanes == 0 &&
         !ShapedType::isDynamic(lastDim(value)) && lastDim(value) % kLanes == 0 &&
         kind != MaskKind::block_sparse &&
         config.softmax.getKind() == SoftmaxKind::standard;
}

Value mlir::kiln::lowering::buildFlashAttention(
    OpBuilder &b, Location loc, const AttentionConfig &config,
    Value query, Value key, Value value, Value keyMask, Value positions) {
  return FlashAttentionBuilder(b, loc, config, query, key, value, keyMask,
                               positions)
      .build();
}
