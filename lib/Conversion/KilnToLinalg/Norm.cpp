//===- Norm.cpp - Lower kiln.layer_norm, kiln.rms_norm and kiln.rope ------===//
//
// Part of Kiln. Normalizations are row reductions over the last dim followed
// by one pointwise pass, all accumulated in f32 (or wider) whatever the
// storage type. Rotary embeddings are one pointwise pass that reads each
// element's rotation partner.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Loop structure of a reduction over the last dim of a rank-`rank` tensor.
struct RowMaps {
  RowMaps(MLIRContext *ctx, unsigned rank) : rank(rank) {
    SmallVector<unsigned> all, rows;
    for (unsigned i = 0; i < rank; ++i) {
      all.push_back(i);
      if (i + 1 < rank)
        rows.push_back(i);
    }
    full = dimsMap(ctx, rank, all);
    row = dimsMap(ctx, rank, rows);
    feature = dimsMap(ctx, rank, {rank - 1});
  }

  /// Parallel over the rows, reduction over the last dim.
  SmallVector<utils::IteratorType> reduction() const {
    SmallVector<utils::IteratorType> kinds(rank - 1,
                                           utils::IteratorType::parallel);
    kinds.push_back(utils::IteratorType::reduction);
    return kinds;
  }

  unsigned rank;
  AffineMap full, row, feature;
};

/// Sum over the last dim of `f(x)` (plus optional extra row inputs) in
/// `accType`; the result has the input's shape without its last dim.
Value rowSum(OpBuilder &b, Location loc, const RowMaps &maps, Value input,
             ValueRange rowInputs, Type accType,
             function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  SmallVector<OpFoldResult> rowSizes = getSizes(b, loc, input);
  rowSizes.pop_back();
  Value init = filledTensor(b, loc, rowSizes, accType, 0.0);
  SmallVector<Value> inputs{input};
  llvm::append_range(inputs, rowInputs);
  SmallVector<AffineMap> inputMaps{maps.full};
  inputMaps.append(rowInputs.size(), maps.row);
  return buildGeneric(b, loc, inputs, inputMaps, init, maps.reduction(),
                      [&](OpBuilder &nb, Location l, ValueRange args) {
                        Value value = term(nb, l, args.drop_back());
                        return arith::AddFOp::create(nb, l, args.back(), value);
                      });
}

/// The size of the last dim of `input` as a float of `type`.
Value lastDimAsFloat(OpBuilder &b, Location loc, Value input, Type type) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  Value size = getDimValue(b, loc, input, rank - 1);
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
  return arith::SIToFPOp::create(b, loc, type, asInt);
}

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Value weight = adaptor.getWeight(), bias = adaptor.getBias();
    Type elementType = op.getType().getElementType();
    Type accType = accumulatorType(elementType);
    RowMaps maps(rewriter.getContext(), op.getType().getRank());
    Value count = lastDimAsFloat(rewriter, loc, input, accType);
    Value epsilon =
        floatConst(rewriter, loc, accType, op.getEpsilon().convertToDouble());

    Value sum = rowSum(rewriter, loc, maps, input, {}, accType,
                       [&](OpBuilder &b, Location l, ValueRange args) {
                         return convertFloat(b, l, args[0], accType);
                       });
    // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2,
    // which cancels catastrophically for rows with a large mean.
    Value squares =
        rowSum(rewriter, loc, maps, input, {sum}, accType,
               [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                 Value x = convertFloat(b, l, args[0], accType);
                 Value mean = arith::DivFOp::create(b, l, args[1], count);
                 Value centered = arith::SubFOp::create(b, l, x, mean);
                 return arith::MulFOp::create(b, l, centered, centered);
               });

    SmallVector<Value> inputs{input, sum, squares};
    SmallVector<AffineMap> inputMaps{maps.full, maps.row, maps.row};
    if (weight) {
      inputs.push_back(weight);
      inputMaps.push_back(maps.feature);
    }
    if (bias) {
      inputs.push_back(bias);
      inputMaps.push_back(maps.feature);
    }
    Value init =
        emptyTensor(rewriter, loc, getSizes(rewriter, loc, input), elementType);
    SmallVector<utils::IteratorType> parallel(maps.rank,
                                              utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, inputs, inputMaps, init, parallel,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value x = convertFloat(b, l, args[0], accType);
          Value mean = arith::DivFOp::create(b, l, args[1], count);
          Value var = arith::DivFOp::create(b, l, args[2], count);
          Value rstd = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, var, epsilon));
          Value y = arith::MulFOp::create(
              b, l, arith::SubFOp::create(b, l, x, mean), rstd);
          unsigned next = 3;
          if (weight)
            y = arith::MulFOp::create(
                b, l, y, convertFloat(b, l, args[next++], accType));
          if (bias)
            y = arith::AddFOp::create(
                b, l, y, convertFloat(b, l, args[next++], accType));
          return convertFloat(b, l, y, elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RmsNormLowering : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Type elementType = op.getType().getElementType();
    Type accType = accumulatorType(elementType);
    RowMaps maps(rewriter.getContext(), op.getType().getRank());
    Value count = lastDimAsFloat(rewriter, loc, input, accType);
    Value epsilon =
        floatConst(rewriter, loc, accType, op.getEpsilon().convertToDouble());
    Value squares = rowSum(rewriter, loc, maps, input, {}, accType,
                           [&](OpBuilder &b, Location l, ValueRange args) {
                             Value x = convertFloat(b, l, args[0], accType);
                             return arith::MulFOp::create(b, l, x, x);
                           });
    Value init =
        emptyTensor(rewriter, loc, getSizes(rewriter, loc, input), elementType);
    SmallVector<utils::IteratorType> parallel(maps.rank,
                                              utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, ValueRange{input, squares, adaptor.getWeight()},
        {maps.full, maps.row, maps.feature}, init, parallel,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value x = convertFloat(b, l, args[0], accType);
          Value meanSquare = arith::DivFOp::create(b, l, args[1], count);
          Value rms = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, meanSquare, epsilon));
          // As HF LLaMA: normalize in f32, cast, then scale by the weight.
          Value normalized = convertFloat(
              b, l, arith::MulFOp::create(b, l, x, rms), elementType);
          return arith::MulFOp::create(b, l, args[2], normalized);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RopeLowering : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Value positions = adaptor.getPositions();
    auto inType = cast<RankedTensorType>(input.getType());
    unsigned rank = inType.getRank();
    Type elementType = inType.getElementType();
    Type f32 = rewriter.getF32Type();
    int64_t rotary = op.getEffectiveRotaryDim();
    int64_t halfRotary = rotary / 2;
    bool interleaved = op.getStyle() == RopeStyle::interleaved;

    // inv_freq[i] = 1 / theta^(2i / rotary_dim), in f32 step by step as HF's
    // `1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`.
    float theta = static_cast<float>(op.getTheta().convertToDouble());
    SmallVector<float> invFreq;
    for (int64_t i = 0; i < halfRotary; ++i) {
      float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary);
      invFreq.push_back(1.0f / std::pow(theta, exponent));
    }
    auto freqType = RankedTensorType::get({halfRotary}, f32);
    Value freqs = arith::ConstantOp::create(
        rewriter, loc, freqType,
        DenseElementsAttr::get(freqType, ArrayRef<float>(invFreq)));

    SmallVector<unsigned> all, lead;
    for (unsigned i = 0; i < rank; ++i) {
      all.push_back(i);
      if (i + 2 < rank)
        lead.push_back(i);
    }
    MLIRContext *ctx = rewriter.getContext();
    Value init =
        emptyTensor(rewriter, loc, getSizes(rewriter, loc, input), elementType);
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);
    Value rotaryEnd = indexConst(rewriter, loc, rotary);
    Value halfEnd = indexConst(rewriter, loc, halfRotary);
    Value lastFreq = indexConst(rewriter, loc, halfRotary - 1);
    Value one = indexConst(rewriter, loc, 1);
    Value two = indexConst(rewriter, loc, 2);
    Value zero = indexConst(rewriter, loc, 0);

    Value result = buildGeneric(
        rewriter, loc, ValueRange{input, positions},
        {dimsMap(ctx, rank, all), dimsMap(ctx, rank, lead)}, init, parallel,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          SmallVector<Value> indices;
          for (unsigned i = 0; i < rank; ++i)
            indices.push_back(linalg::IndexOp::create(b, l, i));
          Value d = indices.back();
          Value rotated = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                                d, rotaryEnd);
          // `first` is true where the partner is subtracted (x[i] of the
          // pair); `freqIndex` is clamped so the passthrough tail never
          // reads past inv_freq.
          Value first, freqIndex, partner;
          if (interleaved) {
            Value parity = arith::RemUIOp::create(b, l, d, two);
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                          parity, zero);
            freqIndex = arith::MinUIOp::create(
                b, l, arith::DivUIOp::create(b, l, d, two), lastFreq);
            partner = arith::XOrIOp::create(b, l, d, one);
          } else {
            first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, d,
                                          halfEnd);
            freqIndex = arith::RemUIOp::create(b, l, d, halfEnd);
            partner = arith::SelectOp::create(
                b, l, first, arith::AddIOp::create(b, l, d, halfEnd),
                arith::SubIOp::create(b, l, d, halfEnd));
          }
          partner = arith::SelectOp::create(b, l, rotated, partner, d);
          indices.back() = partner;
          Value other = tensor::ExtractOp::create(b, l, input, indices);

          Value position = arith::SIToFPOp::create(b, l, f32, args[1]);
          Value freq =
              tensor::ExtractOp::create(b, l, freqs, ValueRange{freqIndex});
          Value angle = arith::MulFOp::create(b, l, position, freq);
          Value cos = math::CosOp::create(b, l, angle);
          Value sin = math::SinOp::create(b, l, angle);
          Value x = convertFloat(b, l, args[0], f32);
          Value y = convertFloat(b, l, other, f32);
          Value ySin = arith::MulFOp::create(b, l, y, sin);
          Value signedSin = arith::SelectOp::create(
              b, l, first, arith::NegFOp::create(b, l, ySin), ySin);
          Value out = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, x, cos), signedSin);
          return arith::SelectOp::create(
              b, l, rotated, convertFloat(b, l, out, elementType), args[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateNormPatterns(RewritePatternSet &patterns) {
  patterns.add<LayerNormLowering, RmsNormLowering, RopeLowering>(
      patterns.getContext());
}
