//===- LowerContiguousExpandShape.cpp - expand_shape as a reinterpret -----===//
//
// Part of Kiln. Implements kiln-lower-contiguous-expand-shape.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNLOWERCONTIGUOUSEXPANDSHAPE
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct ExpandShapeToReinterpretCast
    : public OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    MemRefType sourceType = op.getSrcType();
    MemRefType resultType = op.getResultType();
    if (!sourceType.getLayout().isIdentity() ||
        !resultType.getLayout().isIdentity())
      return rewriter.notifyMatchFailure(op, "source is not dense row-major");
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    // Row-major strides of the result, innermost first.
    SmallVector<OpFoldResult> strides(sizes.size());
    OpFoldResult stride = rewriter.getIndexAttr(1);
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
      strides[d] = stride;
      std::optional<int64_t> staticStride = getConstantIntValue(stride);
      std::optional<int64_t> staticSize = getConstantIntValue(sizes[d]);
      if (staticStride && staticSize) {
        stride = rewriter.getIndexAttr(*staticStride * *staticSize);
        continue;
      }
      Value lhs = getValueOrCreateConstantIndexOp(rewriter, loc, stride);
      Value rhs = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[d]);
      stride = arith::MulIOp::create(rewriter, loc, lhs, rhs).getResult();
    }
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, resultType, op.getSrc(), rewriter.getIndexAttr(0), sizes, strides);
    return success();
  }
};

struct KilnLowerContiguousExpandShapePass
    : public kiln::impl::KilnLowerContiguousExpandShapeBase<
          KilnLowerContiguousExpandShapePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
