//===- StateSpace.cpp - Lower kiln.selective_scan and kiln.causal_conv1d --===//
//
// Part of Kiln. The selective scan is a sequential recurrence, independent per
// channel: an scf.forall over (batch, channel block) runs, per task, an
// scf.for over time carrying the block's state [1, block, N], each step a few
// pointwise and reduction generics. The causal conv is one
// convolution-shaped generic over the input with its K - 1 history rows
// prepended. Packed forms run the padded lowering once per sequence.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

using utils::IteratorType;

/// `tensor` with its elements converted to `elementType` (no-op if equal).
Value convertTensor(OpBuilder &b, Location loc, Value tensor,
                    Type elementType) {
  if (cast<RankedTensorType>(tensor.getType()).getElementType() == elementType)
    return tensor;
  Value init = emptyTensor(b, loc, getSizes(b, loc, tensor), elementType);
  return buildElementwise(b, loc, ValueRange{tensor}, init,
                          [&](OpBuilder &nb, Location l, ValueRange args) {
                            return convertFloat(nb, l, args[0], elementType);
                          });
}

/// Time step `t` of a [B, L, C] tensor as [B, C].
Value timeStep(OpBuilder &b, Location loc, Value tensor, Value t) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, tensor);
  sizes[1] = b.getIndexAttr(1);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), t, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  auto stepType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(2)}, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, stepType, tensor, offsets,
                                        sizes, strides);
}

//===----------------------------------------------------------------------===//
// Selective scan
//===----------------------------------------------------------------------===//

/// The operands of one scan on the padded layout ([B, L, ...]).
struct ScanInputs {
  Value x, dt, a, b, c, d, z, dtBias;
  bool softplus;
};

/// Runs the scan from state `h0` ([B, D, N], accumulator type); returns y
/// ([B, L, D], x's element type) and the last state. y's rows are written
/// into `yDest` when given (the caller's output slice, so that they land
/// in place), else into a new tensor.
std::pair<Value, Value> buildPaddedScan(OpBuilder &b, Location loc,
                                        const ScanInputs &in, Value h0,
                                        Value yDest = nullptr) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<RankedTensorType>(in.x.getType()).getElementType();
  Type acc = accumulatorType(elementType);
  SmallVector<OpFoldResult> xSizes = getSizes(b, loc, in.x);
  OpFoldResult batch = xSizes[0], channels = xSizes[2];
  SmallVector<OpFoldResult> stepSizes{batch, channels};

  // delta = softplus(dt + dt_bias) for all steps at once, outside the
  // sequential loop. Softplus follows torch: x > 20 returns x.
  SmallVector<Value> deltaInputs{in.dt};
  SmallVector<AffineMap> deltaMaps{b.getMultiDimIdentityMap(3)};
  if (in.dtBias) {
    deltaInputs.push_back(in.dtBias);
    deltaMaps.push_back(dimsMap(ctx, 3, {2}));
  }
  Value delta = buildGeneric(
      b, loc, deltaInputs, deltaMaps, emptyTensor(b, loc, xSizes, acc),
      SmallVector<IteratorType>(3, IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value v = convertFloat(nb, l, args[0], acc);
        if (in.dtBias)
          v = arith::AddFOp::create(nb, l, v,
                                    convertFloat(nb, l, args[1], acc));
        if (!in.softplus)
          return v;
        Value soft =
            math::Log1pOp::create(nb, l, math::ExpOp::create(nb, l, v));
        Value large = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, v,
                                            floatConst(nb, l, acc, 20.0));
        return arith::SelectOp::create(nb, l, large, v, soft);
      });

  Value zero = indexConst(b, loc, 0);
  Value one = indexConst(b, loc, 1);
  Value length = getDimValue(b, loc, in.x, 1);
  Value yInit = yDest ? yDest : emptyTensor(b, loc, xSizes, elementType);
  auto loop = scf::ForOp::create(
      b, loc, zero, length, one, ValueRange{h0, yInit},
      [&](OpBuilder &nb, Location l, Value t, ValueRange carried) {
        Value xt = timeStep(nb, l, in.x, t);
        Value deltaT = timeStep(nb, l, delta, t);
        Value bt = timeStep(nb, l, in.b, t);
        Value ct = timeStep(nb, l, in.c, t);

        // h = exp(delta * A) * h + delta * B * x, updated in place.
        Value h = buildGeneric(
            nb, l, ValueRange{in.a, xt, deltaT, bt},
            {dimsMap(ctx, 3, {1, 2}), dimsMap(ctx, 3, {0, 1}),
             dimsMap(ctx, 3, {0, 1}), dimsMap(ctx, 3, {0, 2})},
            carried[0], SmallVector<IteratorType>(3, IteratorType::parallel),
            [&](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              Value a = convertFloat(bb, bl, args[0], acc);
              Value x = convertFloat(bb, bl, args[1], acc);
              Value dl = args[2];
              Value bv = convertFloat(bb, bl, args[3], acc);
              Value decay = math::ExpOp::create(
                  bb, bl, arith::MulFOp::create(bb, bl, dl, a));
              Value input = arith::MulFOp::create(
                  bb, bl, arith::MulFOp::create(bb, bl, dl, bv), x);
              return arith::AddFOp::create(
                  bb, bl, arith::MulFOp::create(bb, bl, decay, args[4]), input);
            });

        // y = sum_n C[n] * h[d, n].
        Value yt = buildGeneric(
            nb, l, ValueRange{h, ct},
            {dimsMap(ctx, 3, {0, 1, 2}), dimsMap(ctx, 3, {0, 2})},
            filledTensor(nb, l, stepSizes, acc, 0.0),
            {IteratorType::parallel, IteratorType::parallel,
             IteratorType::reduction},
            [&](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              Value c = convertFloat(bb, bl, args[1], acc);
              return arith::AddFOp::create(
                  bb, bl, args[2], arith::MulFOp::create(bb, bl, c, args[0]));
            });

        // y += D * x; y *= silu(z).
        SmallVector<Value> inputs{yt, xt};
        SmallVector<AffineMap> maps(2, nb.getMultiDimIdentityMap(2));
        if (in.d) {
          inputs.push_back(in.d);
          maps.push_back(dimsMap(ctx, 2, {1}));
        }
        if (in.z) {
          inputs.push_back(timeStep(nb, l, in.z, t));
          maps.push_back(nb.getMultiDimIdentityMap(2));
        }
        // Written straight into row t of y: no temporary per step.
        Value yOut = buildGeneric(
            nb, l, inputs, maps, timeStep(nb, l, carried[1], t),
            SmallVector<IteratorType>(2, IteratorType::parallel),
            [&](OpBuilder &bb, Location bl, ValueRange args) -> Value {
              Value y = args[0];
              unsigned next = 2;
              if (in.d) {
                Value x = convertFloat(bb, bl, args[1], acc);
                Value d = convertFloat(bb, bl, args[next++], acc);
                y = arith::AddFOp::create(bb, bl, y,
                                          arith::MulFOp::create(bb, bl, d, x));
              }
              if (in.z) {
                Value z = convertFloat(bb, bl, args[next++], acc);
                y = arith::MulFOp::create(
                    bb, bl, y, applyActivation(bb, bl, Activation::silu, z));
              }
              return convertFloat(bb, bl, y, elementType);
            });

        SmallVector<OpFoldResult> offsets{nb.getIndexAttr(0), t,
                                          nb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes{batch, nb.getIndexAttr(1), channels};
        SmallVector<OpFoldResult> strides(3, nb.getIndexAttr(1));
        Value y = tensor::InsertSliceOp::create(nb, l, yOut, carried[1],
                                                offsets, sizes, strides);
        scf::YieldOp::create(nb, l, ValueRange{h, y});
      });
  return {loop.getResult(1), loop.getResult(0)};
}

/// Channels per task of the parallel scan: the largest of 64, 32, 16, 8
/// that leaves at least four tasks per sequence, else all channels in one.
/// Dynamic channel counts take 64 with a short last block.
int64_t scanChannelBlock(int64_t channels) {
  if (ShapedType::isDynamic(channels))
    return 64;
  for (int64_t block : {64, 32, 16, 8})
    if (channels % block == 0 && channels / block >= 4)
      return block;
  return channels;
}

/// `[offset, offset + size)` of dim `dim` of `value`, the rest whole.
Value sliceDim(OpBuilder &b, Location loc, Value value, unsigned dim,
               OpFoldResult offset, OpFoldResult size) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, value);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = offset;
  sizes[dim] = size;
  return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes,
                                        strides);
}

/// The scan as one scf.forall over (sequence, channel block), each task
/// running the whole time loop for its channels. Channels are independent
/// in the recurrence, so this is exact; it replaces several tiny parallel
/// regions per time step (a fork and join each) with one region per scan,
/// and keeps each task's state [1, block, N] in cache across steps.
std::pair<Value, Value> buildParallelScan(OpBuilder &b, Location loc,
                                          const ScanInputs &in, Value h0) {
  Type elementType = cast<RankedTensorType>(in.x.getType()).getElementType();
  SmallVector<OpFoldResult> xSizes = getSizes(b, loc, in.x);
  OpFoldResult channels = xSizes[2];
  int64_t block = scanChannelBlock(
      cast<RankedTensorType>(in.x.getType()).getDimSize(2));
  Value yInit = emptyTensor(b, loc, xSizes, elementType);
  SmallVector<OpFoldResult> lbs(2, b.getIndexAttr(0));
  SmallVector<OpFoldResult> ubs{xSizes[0], channels};
  SmallVector<OpFoldResult> steps{b.getIndexAttr(1), b.getIndexAttr(block)};
  auto forall = scf::ForallOp::create(
      b, loc, lbs, ubs, steps, ValueRange{yInit, h0}, std::nullopt,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value seq = args[0], first = args[1];
        OpFoldResult width = nb.getIndexAttr(block);
        if (!isa<Attribute>(channels) ||
            getConstantIntValue(channels).value_or(0) % block != 0) {
          Value left = arith::SubIOp::create(
              nb, l, getValueOrCreateConstantIndexOp(nb, l, channels), first);
          width = arith::MinSIOp::create(nb, l, left,
                                         indexConst(nb, l, block))
                      .getResult();
        }
        OpFoldResult one = nb.getIndexAttr(1);
        ScanInputs task = in;
        auto perSequence = [&](Value tensor) {
          return sliceDim(nb, l, tensor, 0, seq, one);
        };
        auto channelSlice = [&](Value tensor, unsigned dim) {
          return tensor ? sliceDim(nb, l, tensor, dim, first, width) : tensor;
        };
        task.x = channelSlice(perSequence(in.x), 2);
        task.dt = channelSlice(perSequence(in.dt), 2);
        task.z = in.z ? channelSlice(perSequence(in.z), 2) : Value();
        task.b = perSequence(in.b);
        task.c = perSequence(in.c);
        task.a = channelSlice(in.a, 0);
        task.d = channelSlice(in.d, 0);
        task.dtBias = channelSlice(in.dtBias, 0);
        // The task's slices of the two shared outputs, taken with exactly
        // the offsets and sizes they are inserted back with, so that
        // bufferization sees one buffer and copies nothing: the initial
        // state is read from the state output it overwrites, and y's rows
        // go straight into the y output.
        SmallVector<OpFoldResult> unitStrides(3, one);
        SmallVector<OpFoldResult> yOffsets{seq, nb.getIndexAttr(0), first};
        SmallVector<OpFoldResult> ySizes{one, xSizes[1], width};
        SmallVector<OpFoldResult> stateOffsets{seq, first, nb.getIndexAttr(0)};
        SmallVector<OpFoldResult> stateSizes{
            one, width, tensor::getMixedSize(nb, l, h0, 2)};
        Value yDest = tensor::ExtractSliceOp::create(
            nb, l, args[2], yOffsets, ySizes, unitStrides);
        Value state = tensor::ExtractSliceOp::create(
            nb, l, args[3], stateOffsets, stateSizes, unitStrides);
        auto [y, last] = buildPaddedScan(nb, l, task, state, yDest);

        auto inParallel = scf::InParallelOp::create(nb, l);
        OpBuilder::InsertionGuard guard(nb);
        nb.setInsertionPointToStart(inParallel.getBody());
        tensor::ParallelInsertSliceOp::create(nb, l, y, args[2], yOffsets,
                                              ySizes, unitStrides);
        tensor::ParallelInsertSliceOp::create(nb, l, last, args[3],
                                              stateOffsets, stateSizes,
                                              unitStrides);
      });
  return {forall.getResult(0), forall.getResult(1)};
}

struct SelectiveScanLowering : OpConversionPattern<SelectiveScanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SelectiveScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elementType = op.getY().getType().getElementType();
    Type acc = accumulatorType(elementType);
    ScanInputs in{adaptor.getX(), adaptor.getDt(),     adaptor.getA(),
                  adaptor.getB(), adaptor.getC(),      adaptor.getD(),
                  adaptor.getZ(), adaptor.getDtBias(), op.getDtSoftplus()};
    Value initial = adaptor.getInitialState();
    OpFoldResult channels =
        tensor::getMixedSize(rewriter, loc, in.x, op.isPacked() ? 1 : 2);
    OpFoldResult stateSize = rewriter.getIndexAttr(op.getStateSize());

    Value y, state;
    if (!op.isPacked()) {
      Value h0 =
          initial ? convertTensor(rewriter, loc, initial, acc)
                  : filledTensor(rewriter, loc,
                                 {tensor::getMixedSize(rewriter, loc, in.x, 0),
                                  channels, stateSize},
                                 acc, 0.0);
      std::tie(y, state) = buildParallelScan(rewriter, loc, in, h0);
    } else {
      // One padded scan of batch 1 per sequence; the state restarts (from
      // zeros or initial_state[b]) at every boundary.
      Value cu = adaptor.getCuSeqlens();
      Value zero = indexConst(rewriter, loc, 0);
      Value one = indexConst(rewriter, loc, 1);
      Value numSeqs = arith::SubIOp::create(
          rewriter, loc, getDimValue(rewriter, loc, cu, 0), one);
      Value yInit = filledTensor(rewriter, loc, getSizes(rewriter, loc, in.x),
                                 elementType, 0.0);
      Value stateInit =
          emptyTensor(rewriter, loc, {numSeqs, channels, stateSize}, acc);
      auto loop = scf::ForOp::create(
          rewriter, loc, zero, numSeqs, one, ValueRange{yInit, stateInit},
          [&](OpBuilder &b, Location l, Value seq, ValueRange carried) {
            auto [start, length] = sequenceBounds(b, l, cu, seq);
            auto sequence = [&](Value tensor) {
              return prependUnitDim(b, l,
                                    sliceDim0(b, l, tensor, start, length));
            };
            ScanInputs seqIn = in;
            seqIn.x = sequence(in.x);
            seqIn.dt = sequence(in.dt);
            seqIn.b = sequence(in.b);
            seqIn.c = sequence(in.c);
            if (in.z)
              seqIn.z = sequence(in.z);
            Value h0 =
                initial
                    ? convertTensor(
                          b, l,
                          sliceDim0(b, l, initial, seq, b.getIndexAttr(1)), acc)
                    : filledTensor(b, l,
                                   {b.getIndexAttr(1), channels, stateSize},
                                   acc, 0.0);
            auto [ySeq, hSeq] = buildParallelScan(b, l, seqIn, h0);
            Value yAll = insertDim0(b, l, dropLeadingUnitDim(b, l, ySeq),
                                    carried[0], start);
            Value states = insertDim0(b, l, hSeq, carried[1], seq);
            scf::YieldOp::create(b, l, ValueRange{yAll, states});
          });
      y = loop.getResult(0);
      state = loop.getResult(1);
    }

    SmallVector<Value> results{
        castToType(rewriter, loc, y, op.getY().getType())};
    if (Value finalState = op.getFinalState())
      results.push_back(castToType(
          rewriter, loc, convertTensor(rewriter, loc, state, elementType),
          finalState.getType()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Causal conv1d
//===----------------------------------------------------------------------===//

/// [B, X, Y] -> [B, Y, X].
Value transposeInner(OpBuilder &b, Location loc, Value tensor) {
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, tensor);
  std::swap(sizes[1], sizes[2]);
  Value init = emptyTensor(
      b, loc, sizes, cast<RankedTensorType>(tensor.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, tensor, init,
                                     ArrayRef<int64_t>{0, 2, 1})
      .getResult()[0];
}

/// Depthwise causal conv of x ([B, L, C]) whose history before t = 0 is
/// `state` ([B, C, K - 1], zeros when null). Returns y and the new state, the
/// last K - 1 inputs (history included when L < K - 1).
std::pair<Value, Value> buildPaddedConv(OpBuilder &b, Location loc, Value x,
                                        Value weight, Value bias, Value state,
                                        Activation activation) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<RankedTensorType>(x.getType()).getElementType();
  Type acc = accumulatorType(elementType);
  int64_t kernel = cast<RankedTensorType>(weight.getType()).getDimSize(1);
  SmallVector<OpFoldResult> xSizes = getSizes(b, loc, x);
  Value length = getDimValue(b, loc, x, 1);
  OpFoldResult history = b.getIndexAttr(kernel - 1);

  // The input with its history prepended: [B, K - 1 + L, C].
  Value extendedLength =
      arith::AddIOp::create(b, loc, length, indexConst(b, loc, kernel - 1));
  Value extended = filledTensor(b, loc, {xSizes[0], extendedLength, xSizes[2]},
                                elementType, 0.0);
  if (state)
    extended = tensor::InsertSliceOp::create(
        b, loc, transposeInner(b, loc, state), extended,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                               b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{xSizes[0], history, xSizes[2]},
        ArrayRef<OpFoldResult>(
            SmallVector<OpFoldResult>(3, b.getIndexAttr(1))));
  extended = tensor::InsertSliceOp::create(
      b, loc, x, extended,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), history, b.getIndexAttr(0)},
      xSizes,
      ArrayRef<OpFoldResult>(SmallVector<OpFoldResult>(3, b.getIndexAttr(1))));

  // Start from the bias, then y[b, t, c] += w[c, k] * xe[b, t + k, c].
  Value init;
  if (bias)
    init = buildGeneric(b, loc, ValueRange{bias}, {dimsMap(ctx, 3, {2})},
                        emptyTensor(b, loc, xSizes, acc),
                        SmallVector<IteratorType>(3, IteratorType::parallel),
                        [&](OpBuilder &nb, Location l, ValueRange args) {
                          return convertFloat(nb, l, args[0], acc);
                        });
  else
    init = filledTensor(b, loc, xSizes, acc, 0.0);
  AffineExpr d0, d1, d2, d3;
  bindDims(ctx, d0, d1, d2, d3);
  Value sum = buildGeneric(
      b, loc, ValueRange{extended, weight},
      {AffineMap::get(4, 0, {d0, d1 + d3, d2}, ctx), dimsMap(ctx, 4, {2, 3})},
      init,
      {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
       IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value product =
            arith::MulFOp::create(nb, l, convertFloat(nb, l, args[0], acc),
                                  convertFloat(nb, l, args[1], acc));
        return arith::AddFOp::create(nb, l, args[2], product);
      });
  Value y = buildElementwise(
      b, loc, ValueRange{sum}, emptyTensor(b, loc, xSizes, elementType),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return convertFloat(nb, l, applyActivation(nb, l, activation, args[0]),
                            elementType);
      });

  Value tail = tensor::ExtractSliceOp::create(
      b, loc, extended,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), length, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{xSizes[0], history, xSizes[2]},
      ArrayRef<OpFoldResult>(SmallVector<OpFoldResult>(3, b.getIndexAttr(1))));
  return {y, transposeInner(b, loc, tail)};
}

struct CausalConv1dLowering : OpConversionPattern<CausalConv1dOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CausalConv1dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), weight = adaptor.getWeight();
    Value bias = adaptor.getBias(), initial = adaptor.getInitialState();
    Activation activation = op.getActivation();
    Type elementType = op.getResult().getType().getElementType();
    int64_t kernel = op.getKernelSize();

    Value y, state;
    if (!op.isPacked()) {
      std::tie(y, state) =
          buildPaddedConv(rewriter, loc, x, weight, bias, initial, activation);
    } else {
      Value cu = adaptor.getCuSeqlens();
      Value zero = indexConst(rewriter, loc, 0);
      Value one = indexConst(rewriter, loc, 1);
      Value numSeqs = arith::SubIOp::create(
          rewriter, loc, getDimValue(rewriter, loc, cu, 0), one);
      Value yInit = filledTensor(rewriter, loc, getSizes(rewriter, loc, x),
                                 elementType, 0.0);
      Value stateInit =
          emptyTensor(rewriter, loc,
                      {numSeqs, tensor::getMixedSize(rewriter, loc, x, 1),
                       rewriter.getIndexAttr(kernel - 1)},
                      elementType);
      auto loop = scf::ForOp::create(
          rewriter, loc, zero, numSeqs, one, ValueRange{yInit, stateInit},
          [&](OpBuilder &b, Location l, Value seq, ValueRange carried) {
            auto [start, length] = sequenceBounds(b, l, cu, seq);
            Value seqX =
                prependUnitDim(b, l, sliceDim0(b, l, x, start, length));
            Value seqState =
                initial ? sliceDim0(b, l, initial, seq, b.getIndexAttr(1))
                        : Value();
            auto [ySeq, stateSeq] =
                buildPaddedConv(b, l, seqX, weight, bias, seqState, activation);
            Value yAll = insertDim0(b, l, dropLeadingUnitDim(b, l, ySeq),
                                    carried[0], start);
            Value states = insertDim0(b, l, stateSeq, carried[1], seq);
            scf::YieldOp::create(b, l, ValueRange{yAll, states});
          });
      y = loop.getResult(0);
      state = loop.getResult(1);
    }

    SmallVector<Value> results{
        castToType(rewriter, loc, y, op.getResult().getType())};
    if (Value finalState = op.getFinalState())
      results.push_back(castToType(rewriter, loc, state, finalState.getType()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateStateSpacePatterns(
    RewritePatternSet &patterns) {
  patterns.add<SelectiveScanLowering, CausalConv1dLowering>(
      patterns.getContext());
}
