//===- FuseQkv.cpp - Projections of one input as one matmul ---------------===//
//
// Part of Kiln. Implements kiln-fuse-qkv.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNFUSEQKV
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Whether `op` can be stacked with `leader`: same block, no residual,
/// `out_in` plain param weights of one input size and element type, bias
/// iff `leader` has one, same result element type.
bool canStack(LinearOp leader, LinearOp op) {
  if (op->getBlock() != leader->getBlock() || op.getResidual() ||
      op.getLayout() != WeightLayout::out_in ||
      op.getInput() != leader.getInput())
    return false;
  ParamOp weight = ParamOp::getPlainDefiningOp(op.getWeight());
  ParamOp leaderWeight = ParamOp::getPlainDefiningOp(leader.getWeight());
  if (!weight || !leaderWeight ||
      weight.getType().getShape().drop_front() !=
          leaderWeight.getType().getShape().drop_front() ||
      weight.getType().getElementType() !=
          leaderWeight.getType().getElementType() ||
      op.getType().getElementType() != leader.getType().getElementType())
    return false;
  if (static_cast<bool>(op.getBias()) != static_cast<bool>(leader.getBias()))
    return false;
  return !op.getBias() || ParamOp::getPlainDefiningOp(op.getBias());
}

/// Stacks every projection of the root's input that canStack allows into
/// one kiln.linear at the first of them.
struct StackProjections : public OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp root,
                                PatternRewriter &rewriter) const override {
    if (!canStack(root, root))
      return rewriter.notifyMatchFailure(root, "not a stackable projection");
    SmallVector<LinearOp> group;
    for (Operation *user : root.getInput().getUsers())
      if (auto linear = dyn_cast<LinearOp>(user);
          linear && !llvm::is_contained(group, linear) &&
          canStack(root, linear))
        group.push_back(linear);
    if (group.size() < 2)
      return rewriter.notifyMatchFailure(root, "no sibling projection");
    llvm::sort(group,
               [](LinearOp a, LinearOp b) { return a->isBeforeInBlock(b); });

    Location loc = rewriter.getFusedLoc(
        llvm::map_to_vector(group, [](LinearOp op) { return op.getLoc(); }));
    rewriter.setInsertionPoint(group.front());
    auto paramsOf = [&](auto get) {
      return llvm::map_to_vector(group, [&](LinearOp op) {
        return ParamOp::getPlainDefiningOp(get(op));
      });
    };
    ParamOp weight = ParamOp::createStacked(
        rewriter, loc, paramsOf([](LinearOp op) { return op.getWeight(); }));
    ParamOp bias;
    if (root.getBias())
      bias = ParamOp::createStacked(
          rewriter, loc, paramsOf([](LinearOp op) { return op.getBias(); }));
    if (!weight || (root.getBias() && !bias)) {
      // Created params without users would stay behind: drop them.
      for (ParamOp created : {weight, bias})
        if (created)
          rewriter.eraseOp(created);
      return rewriter.notifyMatchFailure(root, "weights do not stack");
    }

    auto inType = cast<RankedTensorType>(root.getInput().getType());
    SmallVector<int64_t> shape(inType.getShape());
    shape.back() = weight.getType().getDimSize(0);
    auto stackedType =
        RankedTensorType::get(shape, root.getType().getElementType());
    Value stacked =
        LinearOp::create(rewriter, loc, stackedType, root.getInput(), weight,
                         bias ? bias.getResult() : Value(),
                         /*residual=*/Value(), WeightLayout::out_in);

    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, stacked);
    SmallVector<OpFoldResult> offsets(sizes.size(), rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(sizes.size(), rewriter.getIndexAttr(1));
    int64_t column = 0;
    for (LinearOp op : group) {
      int64_t width = op.getOutFeatures();
      offsets.back() = rewriter.getIndexAttr(column);
      sizes.back() = rewriter.getIndexAttr(width);
      Value slice =
          tensor::ExtractSliceOp::create(rewriter, op.getLoc(), op.getType(),
                                         stacked, offsets, sizes, strides);
      rewriter.replaceOp(op, slice);
      column += width;
    }
    return success();
  }
};

struct KilnFuseQkvPass : public kiln::impl::KilnFuseQkvBase<KilnFuseQkvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<StackProjections>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
