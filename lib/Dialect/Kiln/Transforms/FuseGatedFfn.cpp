//===- FuseGatedFfn.cpp - Gate and up projections as one matmul -----------===//
//
// Part of Kiln. Implements kiln-fuse-gated-ffn.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNFUSEGATEDFFN
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct StackGateAndUp : public OpRewritePattern<FfnOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FfnOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getStackedGate() || !op.getGateWeight() ||
        op.getLayout() != WeightLayout::out_in)
      return rewriter.notifyMatchFailure(op, "not an out_in gated FFN");
    if (static_cast<bool>(op.getGateBias()) !=
        static_cast<bool>(op.getUpBias()))
      return rewriter.notifyMatchFailure(op, "only one of gate/up has a bias");
    ParamOp gate = ParamOp::getPlainDefiningOp(op.getGateWeight());
    ParamOp up = ParamOp::getPlainDefiningOp(op.getUpWeight());
    if (!gate || !up)
      return rewriter.notifyMatchFailure(op, "weights are not plain params");
    Location loc = op.getLoc();
    ParamOp weight = ParamOp::createStacked(rewriter, loc, {gate, up});
    ParamOp bias;
    if (op.getUpBias()) {
      ParamOp gateBias = ParamOp::getPlainDefiningOp(op.getGateBias());
      ParamOp upBias = ParamOp::getPlainDefiningOp(op.getUpBias());
      if (gateBias && upBias)
        bias = ParamOp::createStacked(rewriter, loc, {gateBias, upBias});
    }
    if (!weight || (op.getUpBias() && !bias)) {
      // Created params without users would stay behind: drop them.
      for (ParamOp created : {weight, bias})
        if (created)
          rewriter.eraseOp(created);
      return rewriter.notifyMatchFailure(op, "weights do not stack");
    }
    rewriter.modifyOpInPlace(op, [&] {
      op.getUpWeightMutable().assign(weight);
      op.getGateWeightMutable().clear();
      if (bias) {
        op.getUpBiasMutable().assign(bias);
        op.getGateBiasMutable().clear();
      }
      op.setStackedGate(true);
    });
    return success();
  }
};

struct KilnFuseGatedFfnPass
    : public kiln::impl::KilnFuseGatedFfnBase<KilnFuseGatedFfnPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<StackGateAndUp>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
