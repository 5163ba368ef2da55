//===- TileAndParallelize.cpp - Parallel row blocks for the CPU -----------===//
//
// Part of Kiln. Implements kiln-cpu-tile-and-parallelize.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/MatmulTiles.h"
#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNCPUTILEANDPARALLELIZE
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Makes the innermost loop the one that walks the most operands along
/// their last (contiguous) dimension, so that LLVM vectorizes it: (m, k, n)
/// for C[m, n] += A[m, k] * B[k, n], the head dim for attention scores and
/// for P.V. Ties keep the current innermost loop, and the first loop stays
/// first (it is split into the parallel row blocks). When the innermost loop
/// is then a reduction, its arithmetic is marked reassociable, which LLVM
/// needs to vectorize it.
FailureOr<linalg::GenericOp> orderLoopsForContiguity(RewriterBase &rewriter,
                                                     linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int> votes(numLoops, 0);
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (map.getNumResults() == 0)
      continue;
    if (auto dim = dyn_cast<AffineDimExpr>(map.getResults().back()))
      ++votes[dim.getPosition()];
  }
  unsigned innermost = numLoops - 1;
  for (unsigned d = 1; d < numLoops; ++d)
    if (votes[d] > votes[innermost])
      innermost = d;
  if (innermost != numLoops - 1) {
    SmallVector<unsigned> order;
    for (unsigned d = 0; d < numLoops; ++d)
      if (d != innermost)
        order.push_back(d);
    order.push_back(innermost);
    FailureOr<linalg::GenericOp> reordered =
        linalg::interchangeGenericOp(rewriter, op, order);
    if (failed(reordered))
      return failure();
    op = *reordered;
  }
  if (op.getIteratorTypesArray().back() == utils::IteratorType::reduction) {
    auto flags = arith::FastMathFlagsAttr::get(
        op.getContext(),
        arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
    op.getBody()->walk([&](arith::ArithFastMathInterface arith) {
      arith->setAttr(arith.getFastMathAttrName(), flags);
    });
  }
  return op;
}

/// The weight (dense, or a `kiln.quant` generic's values) that `op`, a 2-D
/// matmul with loops (m, k, n), reads whole or in columns as B[k, n], and
/// its register tile; nullopt when `op` is no such matmul or the weight
/// gets no tile.
std::optional<std::pair<ParamColumns, RegisterTile>>
matchWeightMatmul(linalg::GenericOp op) {
  using utils::IteratorType;
  if (op.getNumLoops() != 3 || op.getNumDpsInits() != 1 ||
      op.getIteratorTypesArray() !=
          SmallVector<IteratorType>{IteratorType::parallel,
                                    IteratorType::reduction,
                                    IteratorType::parallel})
    return std::nullopt;
  bool quantized = op->hasAttr("kiln.quant");
  if (!quantized && !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  // B (or the quantized values) must be read with its columns along n.
  AffineMap bMap = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  if (bMap.getNumResults() != 2 ||
      bMap.getResult(1) != getAffineDimExpr(2, op.getContext()))
    return std::nullopt;
  std::optional<ParamColumns> weight =
      matchParamColumns(op.getDpsInputOperand(1)->get());
  if (!weight || weight->size != op.getStaticLoopRanges()[2] ||
      (quantized != static_cast<bool>(weight->param.getQuant())))
    return std::nullopt;
  RegisterTile tile = pickWeightRegisterTile(weight->fullSize);
  if (!tile.cols)
    return std::nullopt;
  return std::make_pair(*weight, tile);
}

/// The column block of a 2-D weight matmul whose columns are whole
/// register-tile panels: the largest whole number of panels that still
/// makes `maxBlocks` blocks (fewer when there are fewer panels); 0 when the
/// op is no such matmul or would not be split.
int64_t weightColumnBlock(linalg::GenericOp op, int64_t maxBlocks) {
  auto matched = matchWeightMatmul(op);
  if (maxBlocks < 2 || !matched)
    return 0;
  int64_t n = matched->first.size, cols = matched->second.cols;
  if (n % cols)
    return 0;
  int64_t panels = n / cols;
  int64_t blocks = std::min(maxBlocks, panels);
  if (blocks < 2)
    return 0;
  int64_t perBlock = panels / blocks;
  while (panels % perBlock)
    --perBlock;
  return perBlock * cols;
}

/// Where to split a weight matmul whose last panel is partial (N a multiple
/// of no tile width) so that its whole panels get column blocks: after the
/// last whole panel; 0 when it would get none or is no such matmul. The
/// blocks of the whole panels are static, the leftover columns a matmul of
/// their own.
int64_t weightColumnSplit(linalg::GenericOp op, int64_t maxBlocks) {
  auto matched = matchWeightMatmul(op);
  if (maxBlocks < 2 || !matched)
    return 0;
  int64_t n = matched->first.size, cols = matched->second.cols;
  if (n != matched->first.fullSize || n % cols == 0 || n / cols < 2)
    return 0;
  return n - n % cols;
}

/// True for an elementwise op whose only use initializes the accumulator of
/// another op that this pass tiles: that op's tiles compute it (see the
/// fusion control below), so it gets no loop of its own.
bool isFusedAccumulatorInit(linalg::LinalgOp op) {
  if (op->getNumResults() != 1 || !op->getResult(0).hasOneUse() ||
      op.getNumLoops() != op.getNumParallelLoops())
    return false;
  OpOperand &use = *op->getResult(0).getUses().begin();
  auto consumer = dyn_cast<linalg::LinalgOp>(use.getOwner());
  return consumer && consumer.isDpsInit(&use) &&
         consumer.hasPureTensorSemantics() && consumer.getNumLoops() > 0 &&
         consumer.getIteratorTypesArray().front() ==
             utils::IteratorType::parallel;
}

struct KilnCpuTileAndParallelizePass
    : public kiln::impl::KilnCpuTileAndParallelizeBase<
          KilnCpuTileAndParallelizePass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> candidates;
    accumulatorInits.clear();
    fusedInits.clear();
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op.hasPureTensorSemantics() || isa<linalg::FillOp>(op) ||
          op->getParentOfType<scf::ForallOp>() || op.getNumLoops() == 0)
        return;
      if (isFusedAccumulatorInit(op)) {
        accumulatorInits.insert(op);
        return;
      }
      if (op.getIteratorTypesArray().front() != utils::IteratorType::parallel)
        return;
      candidates.push_back(op);
    });

    for (linalg::LinalgOp op : candidates) {
      rewriter.setInsertionPoint(op);
      int64_t rank = op.getRank(op.getDpsInitOperand(0));
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation())) {
        FailureOr<linalg::GenericOp> generic =
            linalg::generalizeNamedOp(rewriter, matmul);
        if (failed(generic)) {
          op.emitError("kiln-cpu-tile-and-parallelize: cannot generalize "
                       "this matmul");
          return signalPassFailure();
        }
        op = *generic;
      }
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation())) {
        FailureOr<linalg::GenericOp> ordered =
            orderLoopsForContiguity(rewriter, generic);
        if (failed(ordered)) {
          op.emitError("kiln-cpu-tile-and-parallelize: cannot reorder the "
                       "loops of this op");
          return signalPassFailure();
        }
        op = *ordered;
      }
      // A weight matmul with a partial last panel: its whole panels and
      // the rest are tiled apart.
      SmallVector<linalg::LinalgOp, 2> parts = {op};
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (int64_t split = weightColumnSplit(generic, weightColumnBlocks)) {
          auto halves = splitColumns(rewriter, generic, split);
          if (failed(halves)) {
            op.emitError("kiln-cpu-tile-and-parallelize: cannot split the "
                         "columns of this weight matmul");
            return signalPassFailure();
          }
          parts = {halves->first, halves->second};
        }
      for (linalg::LinalgOp part : parts)
        if (failed(tileIntoBlocks(rewriter, part, rank)))
          return signalPassFailure();
    }
    // An accumulator init that no tile took (its matmul was split by
    // columns, so each part reads a slice of it) runs in blocks of its own.
    for (Operation *init : accumulatorInits) {
      if (fusedInits.contains(init))
        continue;
      auto op = cast<linalg::LinalgOp>(init);
      if (failed(tileIntoBlocks(rewriter, op,
                                op.getRank(op.getDpsInitOperand(0)))))
        return signalPassFailure();
    }
  }

  /// Elementwise ops that only initialize a tiled op's accumulator, and
  /// those of them fused into its tiles.
  llvm::SmallPtrSet<Operation *, 8> accumulatorInits, fusedInits;

  /// Tiles `op` into an scf.forall of row (and column) blocks, fusing its
  /// accumulator's fill or, if one of `accumulatorInits`, its init.
  LogicalResult tileIntoBlocks(RewriterBase &rewriter, linalg::LinalgOp op,
                               int64_t rank) {
    rewriter.setInsertionPoint(op);
    // Blocks of rows for [tokens, features] operands; for batched
    // operands one sequence, and with a second parallel dim (sequence
    // positions, heads) that split too, so that a batch of one still
    // fills every core.
    SmallVector<OpFoldResult> tileSizes(op.getNumLoops(),
                                        rewriter.getIndexAttr(0));
    tileSizes[0] = rewriter.getIndexAttr(rank <= 2 ? matmulRows : 1);
    if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
      if (int64_t block = weightColumnBlock(generic, weightColumnBlocks))
        tileSizes[2] = rewriter.getIndexAttr(block);
    if (rank > 2 && op.getNumLoops() > 2 &&
        op.getIteratorTypesArray()[1] == utils::IteratorType::parallel) {
      int64_t size = op.getStaticLoopRanges()[1];
      tileSizes[1] =
          rewriter.getIndexAttr(ShapedType::isDynamic(size) ? matmulRows : 1);
    }

    scf::SCFTilingOptions tiling;
    tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    tiling.setTileSizes(tileSizes);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    // Only the accumulator's initialization joins the tile -- a fill, or
    // an elementwise op that only initializes it (a matmul's broadcast bias
    // plus residual): tiles own disjoint parts of the accumulator, so it is
    // computed once, in cache, right before the tile accumulates onto it.
    // Fusing other producers would recompute them once per consumer.
    options.setFusionControlFn(
        [&](tensor::ExtractSliceOp, OpResult producer, bool isDestination)
            -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          Operation *owner = producer.getOwner();
          if (isa<linalg::FillOp>(owner))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          if (isDestination && accumulatorInits.contains(owner)) {
            fusedInits.insert(owner);
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          }
          return std::nullopt;
        });
    FailureOr<scf::SCFTileAndFuseResult> tiled =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled)) {
      op.emitError("kiln-cpu-tile-and-parallelize: tiling failed");
      return failure();
    }
    for (OpResult result : op->getResults())
      rewriter.replaceAllUsesWith(result, tiled->replacements.lookup(result));
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace
