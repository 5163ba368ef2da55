//===- PretransposeWeights.cpp - Weights in [in, out] layout --------------===//
//
// Part of Kiln. Implements kiln-pretranspose-weights.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNPRETRANSPOSEWEIGHTS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The plain (not yet transposed) 2-D param defining `value`, if any.
ParamOp getPlainParam(Value value) {
  auto param = value ? value.getDefiningOp<ParamOp>() : nullptr;
  if (!param || param.getTransposed() || param.getType().getRank() != 2)
    return nullptr;
  return param;
}

/// A param reading the transpose of `param`'s tensor.
Value createTransposedParam(PatternRewriter &rewriter, ParamOp param) {
  auto type = cast<RankedTensorType>(param.getType());
  auto transposedType = RankedTensorType::get(
      {type.getDimSize(1), type.getDimSize(0)}, type.getElementType());
  return ParamOp::create(rewriter, param.getLoc(), transposedType,
                         param.getNameAttr(), rewriter.getUnitAttr(),
                         /*panels=*/nullptr, /*quant=*/nullptr,
                         /*part=*/nullptr, /*encoding=*/nullptr,
                         param.getConcatAttr(), /*columns=*/nullptr);
}

struct PretransposeLinear : public OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    ParamOp weight = getPlainParam(op.getWeight());
    if (op.getLayout() != WeightLayout::out_in || !weight)
      return rewriter.notifyMatchFailure(op, "not an out_in param weight");
    Value transposed = createTransposedParam(rewriter, weight);
    rewriter.modifyOpInPlace(op, [&] {
      op.getWeightMutable().assign(transposed);
      op.setLayout(WeightLayout::in_out);
    });
    return success();
  }
};

struct PretransposeFfn : public OpRewritePattern<FfnOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FfnOp op,
                                PatternRewriter &rewriter) const override {
    ParamOp up = getPlainParam(op.getUpWeight());
    ParamOp down = getPlainParam(op.getDownWeight());
    ParamOp gate = getPlainParam(op.getGateWeight());
    if (op.getLayout() != WeightLayout::out_in || !up || !down ||
        (op.getGateWeight() && !gate))
      return rewriter.notifyMatchFailure(op, "not all out_in param weights");
    Value upT = createTransposedParam(rewriter, up);
    Value downT = createTransposedParam(rewriter, down);
    Value gateT = gate ? createTransposedParam(rewriter, gate) : Value();
    rewriter.modifyOpInPlace(op, [&] {
      op.getUpWeightMutable().assign(upT);
      op.getDownWeightMutable().assign(downT);
      if (gateT)
        op.getGateWeightMutable().assign(gateT);
      op.setLayout(WeightLayout::in_out);
    });
    return success();
  }
};

struct KilnPretransposeWeightsPass
    : public kiln::impl::KilnPretransposeWeightsBase<
          KilnPretransposeWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PretransposeLinear, PretransposeFfn>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
