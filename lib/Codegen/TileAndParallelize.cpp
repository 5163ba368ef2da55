//===- TileAndParallelize.cpp - Parallel row blocks for the CPU -----------===//
//
// Part of Kiln. Implements kiln-cpu-tile-and-parallelize.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
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

/// A matmul-like op as kiln-lower-to-linalg emits it: C[m, n] += A[m, k] *
/// B[k, n] (any operand maps), generalized with loops ordered (m, k, n).
FailureOr<linalg::LinalgOp> orderMatmulLoops(RewriterBase &rewriter,
                                             linalg::MatmulOp matmul) {
  FailureOr<linalg::GenericOp> generic =
      linalg::generalizeNamedOp(rewriter, matmul);
  if (failed(generic))
    return failure();
  // Iteration dims of linalg.matmul are (m, n, k).
  FailureOr<linalg::GenericOp> reordered =
      linalg::interchangeGenericOp(rewriter, *generic, {0, 2, 1});
  if (failed(reordered))
    return failure();
  return cast<linalg::LinalgOp>(reordered->getOperation());
}

struct KilnCpuTileAndParallelizePass
    : public kiln::impl::KilnCpuTileAndParallelizeBase<
          KilnCpuTileAndParallelizePass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> candidates;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op.hasPureTensorSemantics() || isa<linalg::FillOp>(op) ||
          op->getParentOfType<scf::ForallOp>() || op.getNumLoops() == 0)
        return;
      if (op.getIteratorTypesArray().front() != utils::IteratorType::parallel)
        return;
      candidates.push_back(op);
    });

    for (linalg::LinalgOp op : candidates) {
      rewriter.setInsertionPoint(op);
      int64_t rank = op.getRank(op.getDpsInitOperand(0));
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation())) {
        FailureOr<linalg::LinalgOp> ordered =
            orderMatmulLoops(rewriter, matmul);
        if (failed(ordered)) {
          op.emitError("kiln-cpu-tile-and-parallelize: cannot reorder the "
                       "loops of this matmul");
          return signalPassFailure();
        }
        op = *ordered;
      }
      SmallVector<OpFoldResult> tileSizes(op.getNumLoops(),
                                          rewriter.getIndexAttr(0));
      tileSizes[0] = rewriter.getIndexAttr(rank <= 2 ? matmulRows : 1);

      scf::SCFTilingOptions tiling;
      tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      tiling.setTileSizes(tileSizes);
      scf::SCFTileAndFuseOptions options;
      options.setTilingOptions(tiling);
      // Only the accumulator's initialization joins the tile: fusing other
      // producers would recompute them once per consumer.
      options.setFusionControlFn(
          [](tensor::ExtractSliceOp, OpResult producer, bool)
              -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
            if (isa<linalg::FillOp>(producer.getOwner()))
              return scf::SCFTileAndFuseOptions::ControlFnResult{};
            return std::nullopt;
          });
      FailureOr<scf::SCFTileAndFuseResult> tiled =
          scf::tileConsumerAndFuseProducersUsingSCF(
              rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("kiln-cpu-tile-and-parallelize: tiling failed");
        return signalPassFailure();
      }
      for (OpResult result : op->getResults())
        rewriter.replaceAllUsesWith(result, tiled->replacements.lookup(result));
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
