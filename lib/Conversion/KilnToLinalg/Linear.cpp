//===- Linear.cpp - Lower kiln.linear and kiln.ffn ------------------------===//
//
// Part of Kiln. Projections become one `linalg.matmul` each on the collapsed
// leading dims, so that the CPU and GPU pipelines see a plain contraction
// they can tile, pack and vectorize.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value result =
        buildLinear(rewriter, loc, adaptor.getInput(), adaptor.getWeight(),
                    adaptor.getBias(), op.getLayout(), adaptor.getResidual());
    rewriter.replaceOp(op, castToType(rewriter, loc, result, op.getType()));
    return success();
  }
};

struct FfnLowering : OpConversionPattern<FfnOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(FfnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    WeightLayout layout = op.getLayout();
    Activation activation = op.getActivation();
    Value up = buildLinear(rewriter, loc, adaptor.getInput(),
                           adaptor.getUpWeight(), adaptor.getUpBias(), layout);
    // One matmul made both: its first half of outputs is the gate's.
    Value gate;
    if (op.getStackedGate()) {
      int64_t inter =
          cast<RankedTensorType>(up.getType()).getShape().back() / 2;
      gate = sliceLastDim(rewriter, loc, up, 0, inter);
      up = sliceLastDim(rewriter, loc, up, inter, inter);
    } else if (Value gateWeight = adaptor.getGateWeight()) {
      gate = buildLinear(rewriter, loc, adaptor.getInput(), gateWeight,
                         adaptor.getGateBias(), layout);
    }
    Type elementType = cast<RankedTensorType>(up.getType()).getElementType();
    Type accType = accumulatorType(elementType);
    Value init =
        emptyTensor(rewriter, loc, getSizes(rewriter, loc, up), elementType);

    // The activation (and the gate product) is one pointwise pass over the
    // intermediate activations, so no extra [M, inter] tensor is needed.
    Value hidden;
    if (gate) {
      hidden = buildElementwise(
          rewriter, loc, ValueRange{gate, up}, init,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value g = convertFloat(b, l, args[0], accType);
            Value u = convertFloat(b, l, args[1], accType);
            Value act = applyActivation(b, l, activation, g);
            return convertFloat(b, l, arith::MulFOp::create(b, l, act, u),
                                elementType);
          });
    } else {
      hidden = buildElementwise(
          rewriter, loc, ValueRange{up}, init,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value u = convertFloat(b, l, args[0], accType);
            return convertFloat(b, l, applyActivation(b, l, activation, u),
                                elementType);
          });
    }
    Value result =
        buildLinear(rewriter, loc, hidden, adaptor.getDownWeight(),
                    adaptor.getDownBias(), layout, adaptor.getResidual());
    rewriter.replaceOp(op, castToType(rewriter, loc, result, op.getType()));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearLowering, FfnLowering>(patterns.getContext());
}
