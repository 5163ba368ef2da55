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
//
// Decode (a few query rows against a long key sequence) runs a second form,
// chosen at run time: split-K (flash-decoding). Each task takes one
// sequence's keys in a contiguous chunk and visits them for every head, key
// block by key block, so that it streams whole [heads, dim] key and value
// rows instead of one head's strided slice; it leaves a partial state (max,
// sum, unnormalized output) per row and head, and a second loop merges the
// chunks' states with the usual rescaling.
//
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
/// Query rows up to which the split-K form runs (decode steps, short
/// speculative or chunked continuations).
constexpr int64_t kSplitKMaxRows = 4;
/// Keys from which the split-K form runs: below, the chunks are too short
/// to pay for the merge.
constexpr int64_t kSplitKMinKeys = 256;
/// Key chunks per sequence in the split-K form: enough tasks to fill the
/// cores of a batch of one.
constexpr int64_t kKeyChunks = 16;

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
  /// Keys [begin, end) that the masks let row `i` see.
  std::pair<Value, Value> visibleKeys(OpBuilder &nb, Value offset, Value limit,
                                      Value i);
  /// The end of the whole kKeyBlock blocks of keys [from, to): the main key
  /// loop runs to it, the rest go one at a time.
  Value wholeBlocksEnd(OpBuilder &nb, Value from, Value to) {
    Value span = arith::SubIOp::create(nb, loc, to, from);
    Value whole = arith::MulIOp::create(
        nb, loc, arith::DivUIOp::create(nb, loc, span, index(nb, kKeyBlock)),
        index(nb, kKeyBlock));
    return arith::AddIOp::create(nb, loc, from, whole);
  }
  /// Head `head`'s query row `i`, scaled, in kLanes pieces.
  SmallVector<Value> scaledQuery(OpBuilder &nb, Value batch, Value head,
                                 Value i);
  /// A [batch, q_len, heads, E] result from (batch, head) tasks, each
  /// writing its [q_len, E] slice through `body(nb, batch, head, tile)`.
  Value perBatchAndHead(
      function_ref<Value(OpBuilder &, Value, Value, Value)> body);
  /// `tile` ([q_len, E] or [q_len, ...]) after `body(rb, i, tile)` for
  /// every query row i in turn.
  Value forEachRow(OpBuilder &nb, Value tile,
                   function_ref<Value(OpBuilder &, Value, Value)> body);
  /// The (batch, head) form: every task runs whole rows of one head.
  Value buildRowsForm();
  /// The split-K form, for decode.
  Value buildSplitKForm();
  /// Chunk `chunk` of one sequence's keys for every row and head: partial
  /// states written into `tile` ([q_len, heads, E + 2]: output, max, sum).
  Value splitKChunk(OpBuilder &nb, Value batch, Value chunk, Value tile);
  /// Merges the chunks' partial states of row `i`, head `head` into output
  /// row `i` of `tile` ([q_len, E]).
  Value mergeChunks(OpBuilder &nb, Value partials, Value batch, Value head,
                    Value i, Value tile);
  /// (offset, limit) of sequence `batch`: query row i sits at position
  /// offset + i and keys [0, limit) exist (0 and kv_len, or in the KV-cache
  /// form positions[b] and positions[b] + q_len).
  std::pair<Value, Value> sequenceExtent(OpBuilder &nb, Value batch);
  /// Scales `out` by 1 / sum and writes it as row `i` of `tile` ([q_len,
  /// E]); a row with sum 0 (no visible key) gets zeros.
  Value writeNormalized(OpBuilder &nb, ArrayRef<Value> out, Value sum, Value i,
                        Value tile);

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

SmallVector<Value> FlashAttentionBuilder::scaledQuery(OpBuilder &nb,
                                                      Value batch, Value head,
                                                      Value i) {
  Value scale = vector::BroadcastOp::create(nb, loc, lane,
                                            f32Const(nb, config.scale));
  SmallVector<Value> q;
  for (int64_t c = 0; c < headDim / kLanes; ++c)
    q.push_back(arith::MulFOp::create(
        nb, loc, read(nb, query, {batch, i, head, index(nb, c * kLanes)}),
        scale));
  return q;
}

std::pair<Value, Value> FlashAttentionBuilder::visibleKeys(OpBuilder &nb,
                                                           Value offset,
                                                           Value limit,
                                                           Value i) {
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
  return {begin, end};
}

Value FlashAttentionBuilder::writeNormalized(OpBuilder &nb,
                                             ArrayRef<Value> out, Value sum,
                                             Value i, Value tile) {
  Value live = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OGT, sum,
                                     f32Const(nb, 0.0));
  Value inverse = arith::SelectOp::create(
      nb, loc, live, arith::DivFOp::create(nb, loc, f32Const(nb, 1.0), sum),
      f32Const(nb, 0.0));
  Value inverseVector = vector::BroadcastOp::create(nb, loc, lane, inverse);
  for (auto [c, piece] : llvm::enumerate(out)) {
    Value scaled = arith::MulFOp::create(nb, loc, piece, inverseVector);
    tile = vector::TransferWriteOp::create(nb, loc, scaled, tile,
                                           ValueRange{i, index(nb, c * kLanes)},
                                           ArrayRef<bool>{true})
               .getResult();
  }
  return tile;
}

Value FlashAttentionBuilder::row(OpBuilder &nb, Value batch, Value head,
                                 Value offset, Value limit, Value i,
                                 Value tile) {
  Value kvHead = arith::DivUIOp::create(
      nb, loc, head, index(nb, config.numHeads / config.numKvHeads));
  SmallVector<Value> q = scaledQuery(nb, batch, head, i);
  auto [begin, end] = visibleKeys(nb, offset, limit, i);
  Value middle = wholeBlocksEnd(nb, begin, end);

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
  return writeNormalized(nb, state.out, state.sum, i, tile);
}

std::pair<Value, Value> FlashAttentionBuilder::sequenceExtent(OpBuilder &nb,
                                                              Value batch) {
  // In the KV-cache form query i sits at positions[b] + i and only keys
  // below positions[b] + q_len exist yet.
  if (!positions)
    return {index(nb, 0), getDimValue(nb, loc, key, 1)};
  Value offset = extractAsIndex(nb, loc, positions, ValueRange{batch});
  return {offset, arith::AddIOp::create(nb, loc, offset,
                                        getDimValue(nb, loc, query, 1))};
}

Value FlashAttentionBuilder::splitKChunk(OpBuilder &nb, Value batch,
                                         Value chunk, Value tile) {
  std::pair<Value, Value> extent = sequenceExtent(nb, batch);
  Value offset = extent.first, limit = extent.second;
  // Chunk c holds keys [c * size, (c + 1) * size) of [0, limit).
  Value size = arith::CeilDivUIOp::create(nb, loc, limit,
                                          index(nb, kKeyChunks));
  Value chunkBegin = arith::MinUIOp::create(
      nb, loc, arith::MulIOp::create(nb, loc, chunk, size), limit);
  Value chunkEnd = arith::MinUIOp::create(
      nb, loc, arith::AddIOp::create(nb, loc, chunkBegin, size), limit);
  int64_t pieces = valueDim / kLanes;
  Value groupSize = index(nb, config.numHeads / config.numKvHeads);
  Value heads = index(nb, config.numHeads);
  Value zero = index(nb, 0), one = index(nb, 1);

  // State of (row i, head h) in tile[i, h, :]: output pieces, then max, sum.
  auto loadState = [&](OpBuilder &sb, Value t, Value i, Value h) {
    RowState state;
    for (int64_t c = 0; c < pieces; ++c)
      state.out.push_back(vector::TransferReadOp::create(
          sb, loc, lane, t, ValueRange{i, h, index(sb, c * kLanes)},
          f32Const(sb, 0.0), ArrayRef<bool>{true}));
    state.max = tensor::ExtractOp::create(
        sb, loc, t, ValueRange{i, h, index(sb, valueDim)});
    state.sum = tensor::ExtractOp::create(
        sb, loc, t, ValueRange{i, h, index(sb, valueDim + 1)});
    return state;
  };
  auto storeState = [&](OpBuilder &sb, Value t, Value i, Value h,
                        const RowState &state) {
    for (auto [c, piece] : llvm::enumerate(state.out))
      t = vector::TransferWriteOp::create(
              sb, loc, piece, t, ValueRange{i, h, index(sb, c * kLanes)},
              ArrayRef<bool>{true})
              .getResult();
    t = tensor::InsertOp::create(sb, loc, state.max, t,
                                 ValueRange{i, h, index(sb, valueDim)});
    return tensor::InsertOp::create(sb, loc, state.sum, t,
                                    ValueRange{i, h, index(sb, valueDim + 1)})
        .getResult();
  };
  // Visits keys [from, to) in steps of `step` for every head: the heads are
  // the inner loop, so each step reads whole key and value rows.
  auto keyLoop = [&](OpBuilder &lb, Value i, Value from, Value to,
                     int64_t step, Value t) {
    return scf::ForOp::create(
               lb, loc, from, to, index(lb, step), ValueRange{t},
               [&](OpBuilder &jb, Location, Value j, ValueRange jIter) {
                 auto headLoop = scf::ForOp::create(
                     jb, loc, zero, heads, one, jIter,
                     [&](OpBuilder &hb, Location, Value h, ValueRange hIter) {
                       Value kvHead =
                           arith::DivUIOp::create(hb, loc, h, groupSize);
                       SmallVector<Value> q = scaledQuery(hb, batch, h, i);
                       RowState next =
                           visitKeys(hb, batch, kvHead, q, j, step,
                                     loadState(hb, hIter[0], i, h));
                       scf::YieldOp::create(
                           hb, loc, storeState(hb, hIter[0], i, h, next));
                     });
                 scf::YieldOp::create(jb, loc, headLoop.getResults());
               })
        .getResult(0);
  };
  return forEachRow(nb, tile, [&](OpBuilder &rb, Value i, Value t) {
    // Every head starts empty: max -inf, sum 0, output 0.
    RowState empty;
    empty.max = f32Const(rb, -INFINITY);
    empty.sum = f32Const(rb, 0.0);
    empty.out.assign(pieces, vector::BroadcastOp::create(rb, loc, lane,
                                                         f32Const(rb, 0.0)));
    t = scf::ForOp::create(
            rb, loc, zero, heads, one, ValueRange{t},
            [&](OpBuilder &hb, Location, Value h, ValueRange hIter) {
              scf::YieldOp::create(hb, loc,
                                   storeState(hb, hIter[0], i, h, empty));
            })
            .getResult(0);
    // The keys of this chunk that row i sees.
    auto [begin, end] = visibleKeys(rb, offset, limit, i);
    Value from = arith::MaxUIOp::create(rb, loc, begin, chunkBegin);
    Value to = arith::MaxUIOp::create(
        rb, loc, from, arith::MinUIOp::create(rb, loc, end, chunkEnd));
    Value middle = wholeBlocksEnd(rb, from, to);
    t = keyLoop(rb, i, from, middle, kKeyBlock, t);
    return keyLoop(rb, i, middle, to, 1, t);
  });
}

Value FlashAttentionBuilder::mergeChunks(OpBuilder &nb, Value partials,
                                         Value batch, Value head, Value i,
                                         Value tile) {
  int64_t pieces = valueDim / kLanes;
  Value zero = index(nb, 0), one = index(nb, 1);
  Value chunks = index(nb, kKeyChunks);
  auto scalar = [&](OpBuilder &sb, Value chunk, int64_t at) -> Value {
    return tensor::ExtractOp::create(
        sb, loc, partials,
        ValueRange{batch, chunk, i, head, index(sb, at)});
  };
  // The largest chunk max; -inf when no chunk saw a visible key.
  Value max =
      scf::ForOp::create(nb, loc, zero, chunks, one,
                         ValueRange{f32Const(nb, -INFINITY)},
                         [&](OpBuilder &cb, Location, Value c,
                             ValueRange iter) {
                           scf::YieldOp::create(
                               cb, loc,
                               ValueRange{arith::MaximumFOp::create(
                                   cb, loc, iter[0],
                                   scalar(cb, c, valueDim))});
                         })
          .getResult(0);
  Value allHidden = arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::OEQ,
                                          max, f32Const(nb, -INFINITY));
  Value shift =
      arith::SelectOp::create(nb, loc, allHidden, f32Const(nb, 0.0), max);
  SmallVector<Value> init = {f32Const(nb, 0.0)};
  init.append(pieces,
              vector::BroadcastOp::create(nb, loc, lane, f32Const(nb, 0.0)));
  auto merged = scf::ForOp::create(
      nb, loc, zero, chunks, one, init,
      [&](OpBuilder &cb, Location, Value c, ValueRange iter) {
        // An empty chunk has max -inf and weight exp(-inf) = 0.
        Value weight = math::ExpOp::create(
            cb, loc,
            arith::SubFOp::create(cb, loc, scalar(cb, c, valueDim), shift));
        SmallVector<Value> next = {arith::AddFOp::create(
            cb, loc, iter[0],
            arith::MulFOp::create(cb, loc, scalar(cb, c, valueDim + 1),
                                  weight))};
        Value weights = vector::BroadcastOp::create(cb, loc, lane, weight);
        for (int64_t p = 0; p < pieces; ++p) {
          Value piece = vector::TransferReadOp::create(
              cb, loc, lane, partials,
              ValueRange{batch, c, i, head, index(cb, p * kLanes)},
              f32Const(cb, 0.0), ArrayRef<bool>{true});
          next.push_back(
              vector::FMAOp::create(cb, loc, piece, weights, iter[1 + p]));
        }
        scf::YieldOp::create(cb, loc, next);
      });
  SmallVector<Value> out(merged.getResults().begin() + 1,
                         merged.getResults().end());
  return writeNormalized(nb, out, merged.getResult(0), i, tile);
}

/// An scf.forall over (batch, `count`) that rewrites `init` slice by slice:
/// task (batch, j) takes the slice at `offsets(nb, batch, j)` of `sizes`
/// (unit strides), typed `tileType` (rank-reduced), and `body(nb, batch, j,
/// tile)` returns its new value, inserted back in place.
static Value forallOverSlices(
    OpBuilder &b, Location loc, Value init, OpFoldResult batchSize,
    int64_t count,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, Value, Value)> offsets,
    ArrayRef<OpFoldResult> sizes, RankedTensorType tileType,
    function_ref<Value(OpBuilder &, Value, Value, Value)> body) {
  SmallVector<OpFoldResult> lower = {b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> upper = {batchSize, b.getIndexAttr(count)};
  SmallVector<OpFoldResult> steps = {b.getIndexAttr(1), b.getIndexAttr(1)};
  auto forall = scf::ForallOp::create(
      b, loc, lower, upper, steps, ValueRange{init}, std::nullopt,
      [&](OpBuilder &nb, Location, ValueRange args) {
        Value batch = args[0], j = args[1], shared = args[2];
        SmallVector<OpFoldResult> at = offsets(nb, batch, j);
        SmallVector<OpFoldResult> unit(sizes.size(), nb.getIndexAttr(1));
        Value tile = tensor::ExtractSliceOp::create(nb, loc, tileType, shared,
                                                    at, sizes, unit);
        Value result = body(nb, batch, j, tile);
        auto terminator = scf::InParallelOp::create(nb, loc);
        nb.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(nb, loc, result, shared, at,
                                              sizes, unit);
      });
  return forall.getResult(0);
}

Value FlashAttentionBuilder::perBatchAndHead(
    function_ref<Value(OpBuilder &, Value, Value, Value)> body) {
  Value batchSize = getDimValue(b, loc, query, 0);
  Value qLen = getDimValue(b, loc, query, 1);
  Value out = emptyTensor(b, loc,
                          {batchSize, qLen, b.getIndexAttr(config.numHeads),
                           b.getIndexAttr(valueDim)},
                          f32);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), qLen,
                                     b.getIndexAttr(1),
                                     b.getIndexAttr(valueDim)};
  return forallOverSlices(
      b, loc, out, batchSize, config.numHeads,
      [](OpBuilder &nb, Value batch, Value head) -> SmallVector<OpFoldResult> {
        return {batch, nb.getIndexAttr(0), head, nb.getIndexAttr(0)};
      },
      sizes, RankedTensorType::get({ShapedType::kDynamic, valueDim}, f32),
      body);
}

Value FlashAttentionBuilder::forEachRow(
    OpBuilder &nb, Value tile,
    function_ref<Value(OpBuilder &, Value, Value)> body) {
  return scf::ForOp::create(
             nb, loc, index(nb, 0), getDimValue(nb, loc, query, 1),
             index(nb, 1), ValueRange{tile},
             [&](OpBuilder &rb, Location, Value i, ValueRange iter) {
               scf::YieldOp::create(rb, loc, body(rb, i, iter[0]));
             })
      .getResult(0);
}

Value FlashAttentionBuilder::buildRowsForm() {
  return perBatchAndHead(
      [&](OpBuilder &nb, Value batch, Value head, Value tile) {
        std::pair<Value, Value> extent = sequenceExtent(nb, batch);
        Value offset = extent.first, limit = extent.second;
        return forEachRow(nb, tile, [&](OpBuilder &rb, Value i, Value rowTile) {
          return row(rb, batch, head, offset, limit, i, rowTile);
        });
      });
}

Value FlashAttentionBuilder::buildSplitKForm() {
  // Partial states: [batch, chunk, q_len, heads, E + 2] (output, max, sum).
  Value batchSize = getDimValue(b, loc, query, 0);
  Value qLen = getDimValue(b, loc, query, 1);
  int64_t width = valueDim + 2;
  Value partials = emptyTensor(
      b, loc,
      {batchSize, b.getIndexAttr(kKeyChunks), qLen,
       b.getIndexAttr(config.numHeads), b.getIndexAttr(width)},
      f32);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     qLen, b.getIndexAttr(config.numHeads),
                                     b.getIndexAttr(width)};
  Value merged = forallOverSlices(
      b, loc, partials, batchSize, kKeyChunks,
      [](OpBuilder &nb, Value batch, Value chunk) -> SmallVector<OpFoldResult> {
        return {batch, chunk, nb.getIndexAttr(0), nb.getIndexAttr(0),
                nb.getIndexAttr(0)};
      },
      sizes,
      RankedTensorType::get({ShapedType::kDynamic, config.numHeads, width},
                            f32),
      [&](OpBuilder &nb, Value batch, Value chunk, Value tile) {
        return splitKChunk(nb, batch, chunk, tile);
      });
  return perBatchAndHead(
      [&](OpBuilder &nb, Value batch, Value head, Value tile) {
        return forEachRow(nb, tile, [&](OpBuilder &rb, Value i, Value rowTile) {
          return mergeChunks(rb, merged, batch, head, i, rowTile);
        });
      });
}

Value FlashAttentionBuilder::build() {
  auto qType = cast<RankedTensorType>(query.getType());
  auto kType = cast<RankedTensorType>(key.getType());
  int64_t qLen = qType.getDimSize(1), kvLen = kType.getDimSize(1);
  bool mayDecode = ShapedType::isDynamic(qLen) || qLen <= kSplitKMaxRows;
  bool mayBeLong = ShapedType::isDynamic(kvLen) || kvLen >= kSplitKMinKeys;
  if (!mayDecode || !mayBeLong)
    return buildRowsForm();
  if (!ShapedType::isDynamic(qLen) && !ShapedType::isDynamic(kvLen))
    return buildSplitKForm();
  // Chosen per call: split-K for few rows against many keys.
  Value fewRows = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ule, getDimValue(b, loc, query, 1),
      index(b, kSplitKMaxRows));
  Value manyKeys = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::uge, getDimValue(b, loc, key, 1),
      index(b, kSplitKMinKeys));
  Value decode = arith::AndIOp::create(b, loc, fewRows, manyKeys);
  auto choice = scf::IfOp::create(
      b, loc, decode,
      [&](OpBuilder &tb, Location) {
        FlashAttentionBuilder split(tb, loc, config, query, key, value,
                                    keyMask, positions);
        scf::YieldOp::create(tb, loc, split.buildSplitKForm());
      },
      [&](OpBuilder &eb, Location) {
        FlashAttentionBuilder rows(eb, loc, config, query, key, value,
                                   keyMask, positions);
        scf::YieldOp::create(eb, loc, rows.buildRowsForm());
      });
  return choice.getResult(0);
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
