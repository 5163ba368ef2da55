//===- FuseEpilogue.cpp - Residual adds inside the projection -------------===//
//
// Part of Kiln. Implements kiln-fuse-epilogue.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNFUSEEPILOGUE
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// `kiln.add` of a projection's only use and a value that dominates the
/// projection -> the projection with that value as its residual.
struct AddIntoProjection : public OpRewritePattern<AddOp> {
  AddIntoProjection(MLIRContext *context, DominanceInfo &dominance)
      : OpRewritePattern(context), dominance(dominance) {}

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [projected, residual] : {std::pair(add.getLhs(), add.getRhs()),
                                       std::pair(add.getRhs(), add.getLhs())}) {
      Operation *projection = projected.getDefiningOp();
      if (!projection || !projected.hasOneUse() ||
          !dominance.properlyDominates(residual, projection))
        continue;
      std::optional<MutableOperandRange> slot;
      if (auto linear = dyn_cast<LinearOp>(projection))
        slot = linear.getResidualMutable();
      else if (auto ffn = dyn_cast<FfnOp>(projection))
        slot = ffn.getResidualMutable();
      if (!slot || !slot->empty())
        continue;
      rewriter.modifyOpInPlace(projection, [&] { slot->assign(residual); });
      rewriter.replaceOp(add, projected);
      return success();
    }
    return rewriter.notifyMatchFailure(add, "no projection to add into");
  }

  DominanceInfo &dominance;
};

struct KilnFuseEpiloguePass
    : public kiln::impl::KilnFuseEpilogueBase<KilnFuseEpiloguePass> {
  void runOnOperation() override {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    RewritePatternSet patterns(&getContext());
    patterns.add<AddIntoProjection>(&getContext(), dominance);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
