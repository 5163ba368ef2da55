//===- VectorizeMatmul.cpp - Register-tiled vector matmul -----------------===//
//
// Part of Kiln. Implements kiln-cpu-vectorize-matmul.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNCPUVECTORIZEMATMUL
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Columns per register tile for `n` output columns, or 0 when none of the
/// supported widths divides `n` (the tile must be static: no masks).
int64_t pickColumnTile(int64_t n) {
  if (ShapedType::isDynamic(n))
    return 0;
  for (int64_t width : {64, 32, 16, 8})
    if (n % width == 0)
      return width;
  return 0;
}

/// A contraction C[m, n] += A[m, k] * B[k, n] with loops (m, k, n).
bool isOrderedMatmul(linalg::GenericOp op) {
  using utils::IteratorType;
  return op.hasPureTensorSemantics() && op.getNumLoops() == 3 &&
         op.getIteratorTypesArray() ==
             SmallVector<IteratorType>{IteratorType::parallel,
                                       IteratorType::reduction,
                                       IteratorType::parallel} &&
         linalg::isaContractionOpInterface(op);
}

struct KilnCpuVectorizeMatmulPass
    : public kiln::impl::KilnCpuVectorizeMatmulBase<
          KilnCpuVectorizeMatmulPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> matmuls;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isOrderedMatmul(op))
        matmuls.push_back(op);
    });

    for (linalg::GenericOp op : matmuls) {
      int64_t columns = pickColumnTile(op.getStaticLoopRanges()[2]);
      if (!columns)
        continue;
      scf::SCFTilingOptions tiling;
      tiling.setTileSizes({rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                           rewriter.getIndexAttr(columns)});
      // Loops n, m, k: k innermost, so that the accumulator lives in
      // registers across it, and columns outermost, so that the [k, n_r]
      // panel of B stays in cache while every row of the block uses it.
      tiling.setInterchange({2, 0, 1});
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), tiling);
      if (failed(tiled)) {
        op.emitError("kiln-cpu-vectorize-matmul: register tiling failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);

      Operation *tile = tiled->tiledOps.front();
      rewriter.setInsertionPoint(tile);
      FailureOr<linalg::VectorizationResult> vectorized =
          linalg::vectorize(rewriter, tile, {1, 1, columns},
                            /*inputScalableVecDims=*/{false, false, false});
      if (failed(vectorized)) {
        tile->emitError("kiln-cpu-vectorize-matmul: vectorization failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(tile, vectorized->replacements);
    }
  }
};

} // namespace
