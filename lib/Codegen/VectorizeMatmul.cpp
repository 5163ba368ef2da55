//===- VectorizeMatmul.cpp - Register-tiled vector matmul -----------------===//
//
// Part of Kiln. Implements kiln-cpu-vectorize-matmul.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
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

/// When B is a weight (a 2-D kiln.param read as [k, n]), rewrites the
/// matmul to read it cut into [n / columns, k, columns] panels, which
/// kiln-compile stores contiguously:
///   C3[m, nb, ni] += A[m, k] * P[nb, k, ni]   (loops m, nb, k, ni)
/// with C3 the [m, n / columns, columns] view of C. Returns the new op, or
/// null when B is not such a weight.
linalg::GenericOp packWeightPanels(RewriterBase &rewriter, linalg::GenericOp op,
                                   int64_t columns) {
  MLIRContext *ctx = op.getContext();
  auto weight = op.getDpsInputOperand(1)->get().getDefiningOp<ParamOp>();
  AffineExpr m, k, n;
  bindDims(ctx, m, k, n);
  if (!weight || weight.getPanels() ||
      op.getMatchingIndexingMap(op.getDpsInputOperand(1)) !=
          AffineMap::get(3, 0, {k, n}, ctx) ||
      op.getMatchingIndexingMap(op.getDpsInputOperand(0)) !=
          AffineMap::get(3, 0, {m, k}, ctx) ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
          AffineMap::get(3, 0, {m, n}, ctx))
    return nullptr;
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t rows = weightType.getDimSize(0), cols = weightType.getDimSize(1);
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto panelType = RankedTensorType::get({cols / columns, rows, columns},
                                         weightType.getElementType());
  Value panels = ParamOp::create(
      rewriter, weight.getLoc(), panelType, weight.getNameAttr(),
      weight.getTransposedAttr(), rewriter.getI64IntegerAttr(columns));

  Value init = op.getDpsInitOperand(0)->get();
  auto initType = cast<RankedTensorType>(init.getType());
  auto init3Type =
      RankedTensorType::get({initType.getDimSize(0), cols / columns, columns},
                            initType.getElementType());
  SmallVector<OpFoldResult> init3Shape = {
      tensor::getMixedSize(rewriter, loc, init, 0),
      rewriter.getIndexAttr(cols / columns), rewriter.getIndexAttr(columns)};
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  Value init3 = tensor::ExpandShapeOp::create(rewriter, loc, init3Type, init,
                                              groups, init3Shape);

  AffineExpr m4, nb, k4, ni;
  bindDims(ctx, m4, nb, k4, ni);
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {m4, k4}, ctx),
                                 AffineMap::get(4, 0, {nb, k4, ni}, ctx),
                                 AffineMap::get(4, 0, {m4, nb, ni}, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
      IteratorType::parallel};
  auto packed = linalg::GenericOp::create(
      rewriter, loc, TypeRange{init3Type},
      ValueRange{op.getDpsInputOperand(0)->get(), panels}, ValueRange{init3},
      maps, iterators);
  rewriter.cloneRegionBefore(op.getRegion(), packed.getRegion(),
                             packed.getRegion().begin());
  Value result = tensor::CollapseShapeOp::create(rewriter, loc, initType,
                                                 packed.getResult(0), groups);
  rewriter.replaceOp(op, result);
  return packed;
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
      // Loops n (or n / columns), m, k: k innermost, so that the accumulator
      // lives in registers across it, and columns outermost, so that the
      // [k, columns] block of B stays in cache while every row of the block
      // uses it. Weights are read as contiguous panels.
      SmallVector<OpFoldResult> sizes;
      SmallVector<int64_t> interchange, vectorSizes;
      if (linalg::GenericOp packed = packWeightPanels(rewriter, op, columns)) {
        op = packed;
        sizes = {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                 rewriter.getIndexAttr(1), rewriter.getIndexAttr(0)};
        interchange = {1, 0, 2, 3};
        vectorSizes = {1, 1, 1, columns};
      } else {
        sizes = {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
                 rewriter.getIndexAttr(columns)};
        interchange = {2, 0, 1};
        vectorSizes = {1, 1, columns};
      }
      scf::SCFTilingOptions tiling;
      tiling.setTileSizes(sizes);
      tiling.setInterchange(interchange);
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
      SmallVector<bool> scalable(vectorSizes.size(), false);
      FailureOr<linalg::VectorizationResult> vectorized =
          linalg::vectorize(rewriter, tile, vectorSizes, scalable);
      if (failed(vectorized)) {
        tile->emitError("kiln-cpu-vectorize-matmul: vectorization failed");
        return signalPassFailure();
      }
      rewriter.replaceOp(tile, vectorized->replacements);
    }
  }
};

} // namespace
