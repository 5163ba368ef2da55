//===- VectorizeMatmul.cpp - Register-tiled vector matmul -----------------===//
//
// Part of Kiln. Implements kiln-cpu-vectorize-matmul.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/MatmulTiles.h"
#include "kiln/Codegen/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNCPUVECTORIZEMATMUL
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Marks a matmul tiled into row groups, waiting for its register tiles.
constexpr StringLiteral kRowGroupAttr = "kiln.row_group";

/// The columns of a weight that `op`, a matmul with loops (m, k, n), reads
/// as B[k, n]: a 2-D kiln.param, whole or a column block of it.
std::optional<ParamColumns> matchWeight(linalg::GenericOp op) {
  MLIRContext *ctx = op.getContext();
  AffineExpr m, k, n;
  bindDims(ctx, m, k, n);
  if (op.getMatchingIndexingMap(op.getDpsInputOperand(1)) !=
          AffineMap::get(3, 0, {k, n}, ctx) ||
      op.getMatchingIndexingMap(op.getDpsInputOperand(0)) !=
          AffineMap::get(3, 0, {m, k}, ctx) ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
          AffineMap::get(3, 0, {m, n}, ctx))
    return std::nullopt;
  return matchParamColumns(op.getDpsInputOperand(1)->get());
}

/// Rewrites a matmul whose B is `weight` to read it cut into
/// [n / columns, k, columns] panels, which kiln-compile stores
/// contiguously:
///   C3[m, nb, ni] += A[m, k] * P[nb, k, ni]   (loops m, nb, k, ni)
/// with C3 the [m, n / columns, columns] view of C. Returns the new op.
linalg::GenericOp packWeightPanels(RewriterBase &rewriter, linalg::GenericOp op,
                                   const ParamColumns &weight,
                                   int64_t columns) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value panels = createParamPanels(rewriter, loc, weight, columns);
  int64_t cols = weight.size;

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
  auto isF32 = [](Value v) {
    return cast<ShapedType>(v.getType()).getElementType().isF32();
  };
  return op.hasPureTensorSemantics() && op.getNumLoops() == 3 &&
         llvm::all_of(op->getOperands(), isF32) &&
         op.getIteratorTypesArray() ==
             SmallVector<IteratorType>{IteratorType::parallel,
                                       IteratorType::reduction,
                                       IteratorType::parallel} &&
         linalg::isaContractionOpInterface(op);
}

/// Loop positions of a matmul in either form: (m, k, n), or with panels
/// (m, nb, k, ni).
struct MatmulLoops {
  bool packed;
  unsigned m = 0, k, n;
  explicit MatmulLoops(linalg::GenericOp op) : packed(op.getNumLoops() == 4) {
    k = packed ? 2 : 1;
    n = packed ? 3 : 2;
  }
};

/// Tiles `op` by `sizes` (loop order `interchange`, may be empty); returns
/// the loops and replaces `op`, or emits an error.
FailureOr<scf::SCFTilingResult> tileLoops(RewriterBase &rewriter,
                                          linalg::GenericOp op,
                                          ArrayRef<int64_t> sizes,
                                          ArrayRef<int64_t> interchange) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(op.getContext(), sizes));
  if (!interchange.empty())
    options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled)) {
    op.emitError("kiln-cpu-vectorize-matmul: tiling failed");
    return failure();
  }
  rewriter.replaceOp(op, tiled->replacements);
  return tiled;
}

/// Phase 1: splits the rows of C into groups of `tile.rows` (loops n or nb
/// outermost, then m) and peels the last, partial group, so that every
/// group but one has a static row count.
LogicalResult tileRowGroups(RewriterBase &rewriter, linalg::GenericOp op,
                            RegisterTile tile) {
  MatmulLoops loops(op);
  SmallVector<int64_t> sizes(op.getNumLoops(), 0);
  sizes[loops.m] = tile.rows;
  // Without panels, the n loop steps by the tile's columns; with panels,
  // nb steps by one panel and ni stays whole.
  sizes[loops.packed ? 1 : loops.n] = loops.packed ? 1 : tile.cols;
  SmallVector<int64_t> interchange =
      loops.packed ? SmallVector<int64_t>{1, 0, 2, 3}
                   : SmallVector<int64_t>{2, 0, 1};
  FailureOr<scf::SCFTilingResult> tiled =
      tileLoops(rewriter, op, sizes, interchange);
  if (failed(tiled))
    return failure();
  auto tiledOp = cast<linalg::GenericOp>(tiled->tiledOps.front());
  rewriter.modifyOpInPlace(tiledOp, [&] {
    tiledOp->setAttr(kRowGroupAttr, rewriter.getDenseI64ArrayAttr(
                                        {tile.rows, tile.cols}));
  });
  if (tile.rows == 1)
    return success();
  auto rowLoop = cast<scf::ForOp>(tiled->loops.back());
  scf::ForOp partial;
  // Fails only when nothing needs peeling (the trip count divides).
  (void)scf::peelForLoopAndSimplifyBounds(rewriter, rowLoop, partial);
  return success();
}

/// Lanes of the vectors the register tiles are made of: one AVX2 register
/// of f32. Wider logical vectors (24 columns) would leave LLVM to split
/// non-power-of-two types, which it does by spilling.
constexpr int64_t kLanes = 8;

/// Emits `C[row0 + i, :] += sum_k A[row0 + i, k] * B[k, :]` for `i <
/// rows` as `rows * cols / kLanes` vector accumulators carried through a
/// loop over k: each step loads one row of B (one panel row) and, per row
/// of A, broadcasts A[row, k] and multiply-adds it in. C is [m, n] or a
/// [m, 1, cols] panel view, B [k, n] or a [1, k, cols] panel. With
/// `validCols` < `cols` (a zero-padded last panel), C has only `validCols`
/// columns: only the 8-lane pieces that hold some are computed, and the
/// piece that ends past them is read and written masked. Returns the
/// updated C.
Value emitRegisterTile(OpBuilder &b, Location loc, Value a, Value bMatrix,
                       Value c, Value row0, int64_t rows, int64_t cols,
                       int64_t validCols) {
  Type element = cast<ShapedType>(c.getType()).getElementType();
  auto vectorType = VectorType::get({kLanes}, element);
  int64_t chunks = llvm::divideCeilSigned(validCols, kLanes);
  auto index = [&](OpBuilder &builder, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  Value zero = index(b, 0), one = index(b, 1);
  Value depth = tensor::DimOp::create(b, loc, a, 1);
  SmallVector<Value> rowIndex, columnIndex;
  for (int64_t i = 0; i < rows; ++i)
    rowIndex.push_back(
        i == 0 ? row0
               : arith::AddIOp::create(b, loc, row0, index(b, i)).getResult());
  for (int64_t j = 0; j < chunks; ++j)
    columnIndex.push_back(index(b, j * kLanes));
  bool packedC = cast<ShapedType>(c.getType()).getRank() == 3;
  bool packedB = cast<ShapedType>(bMatrix.getType()).getRank() == 3;
  auto cIndices = [&](Value row, Value column) -> SmallVector<Value> {
    if (packedC)
      return {row, zero, column};
    return {row, column};
  };
  // Piece j of C lies within its columns unless it ends past validCols.
  auto cInBounds = [&](int64_t j) { return (j + 1) * kLanes <= validCols; };
  auto read = [&](OpBuilder &builder, Value source, ValueRange indices,
                  bool inBounds = true) {
    std::optional<Value> padding;
    if (!inBounds)
      padding = arith::ConstantOp::create(builder, loc, element,
                                          builder.getZeroAttr(element))
                    .getResult();
    return vector::TransferReadOp::create(builder, loc, vectorType, source,
                                          indices, padding,
                                          ArrayRef<bool>{inBounds});
  };
  // Accumulator (i, j) is iter_arg i * chunks + j.
  SmallVector<Value> accumulators;
  for (Value row : rowIndex)
    for (auto [j, column] : llvm::enumerate(columnIndex))
      accumulators.push_back(read(b, c, cIndices(row, column), cInBounds(j)));
  auto loop = scf::ForOp::create(
      b, loc, zero, depth, one, accumulators,
      [&](OpBuilder &nested, Location, Value k, ValueRange sums) {
        SmallVector<Value> bRow;
        for (Value column : columnIndex) {
          SmallVector<Value> bIndices = {k, column};
          if (packedB)
            bIndices.insert(bIndices.begin(), zero);
          bRow.push_back(read(nested, bMatrix, bIndices));
        }
        SmallVector<Value> next;
        for (auto [i, row] : llvm::enumerate(rowIndex)) {
          Value scalar =
              tensor::ExtractOp::create(nested, loc, a, ValueRange{row, k});
          Value splat =
              vector::BroadcastOp::create(nested, loc, vectorType, scalar);
          for (int64_t j = 0; j < chunks; ++j)
            next.push_back(vector::FMAOp::create(nested, loc, splat, bRow[j],
                                                 sums[i * chunks + j]));
        }
        scf::YieldOp::create(nested, loc, next);
      });
  for (auto [i, row] : llvm::enumerate(rowIndex))
    for (auto [j, column] : llvm::enumerate(columnIndex))
      c = vector::TransferWriteOp::create(
              b, loc, loop.getResult(i * chunks + j), c, cIndices(row, column),
              ArrayRef<bool>{cInBounds(static_cast<int64_t>(j))})
              .getResult();
  return c;
}

/// Rows [0, rowCount) of a matmul as register tiles: groups of `rows` rows
/// up to the last full group, then one row at a time. `emitTile(builder,
/// c, row0, rows)` emits one tile and returns the updated C.
Value emitRowLoops(
    OpBuilder &b, Location loc, Value a, Value c, int64_t rows,
    function_ref<Value(OpBuilder &, Value, Value, int64_t)> emitTile) {
  auto index = [&](OpBuilder &builder, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  Value zero = index(b, 0);
  Value rowCount = tensor::DimOp::create(b, loc, a, 0);
  auto rowLoop = [&](Value from, Value to, int64_t step, Value init) {
    return scf::ForOp::create(
               b, loc, from, to, index(b, step), ValueRange{init},
               [&](OpBuilder &rb, Location, Value row0, ValueRange iter) {
                 scf::YieldOp::create(rb, loc,
                                      emitTile(rb, iter[0], row0, step));
               })
        .getResult(0);
  };
  if (rows == 1)
    return rowLoop(zero, rowCount, 1, c);
  Value fullRows = arith::SubIOp::create(
      b, loc, rowCount,
      arith::RemUIOp::create(b, loc, rowCount, index(b, rows)));
  c = rowLoop(zero, fullRows, rows, c);
  return rowLoop(fullRows, rowCount, 1, c);
}

/// Whether `weight`'s columns end with the partial last panel of a
/// `cols`-wide tile (N a multiple of no tile width), starting on a panel
/// boundary: whole, or the columns that kiln-cpu-tile-and-parallelize
/// splits off after the whole panels.
bool endsInPartialPanel(const ParamColumns &weight, int64_t cols) {
  std::optional<int64_t> offset = getConstantIntValue(weight.offset);
  return weight.fullSize % cols && offset && *offset % cols == 0 &&
         *offset + weight.size == weight.fullSize;
}

/// The register tiles of a matmul whose columns, fewer than `tile.cols`,
/// are those of a weight's zero-padded last panel: B is read as that whole
/// panel, C (with its accumulator init: bias or earlier partial sums)
/// only up to its last column.
void vectorizePartialPanel(RewriterBase &rewriter, linalg::GenericOp op,
                           const ParamColumns &weight, RegisterTile tile) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value panel = createParamPanels(rewriter, loc, weight, tile.cols);
  Value a = op.getDpsInputOperand(0)->get();
  Value c = op.getDpsInitOperand(0)->get();
  Value result =
      emitRowLoops(rewriter, loc, a, c, tile.rows,
                   [&](OpBuilder &b, Value cIter, Value row0, int64_t rows) {
                     return emitRegisterTile(b, loc, a, panel, cIter, row0,
                                             rows, tile.cols, weight.size);
                   });
  rewriter.replaceOp(op, result);
}

/// Phase 2: a row group with a static row count becomes one register tile;
/// a partial group, a loop of one-row tiles.
void vectorizeRowGroup(RewriterBase &rewriter, linalg::GenericOp op) {
  auto tileAttr = op->getAttrOfType<DenseI64ArrayAttr>(kRowGroupAttr);
  RegisterTile tile{tileAttr[0], tileAttr[1]};
  Value a = op.getDpsInputOperand(0)->get();
  Value bMatrix = op.getDpsInputOperand(1)->get();
  Value c = op.getDpsInitOperand(0)->get();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  int64_t rows = cast<ShapedType>(a.getType()).getDimSize(0);
  Value result;
  if (rows == tile.rows) {
    result = emitRegisterTile(rewriter, loc, a, bMatrix, c,
                              arith::ConstantIndexOp::create(rewriter, loc, 0),
                              tile.rows, tile.cols, tile.cols);
  } else {
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value count = tensor::DimOp::create(rewriter, loc, a, 0);
    result = scf::ForOp::create(
                 rewriter, loc, zero, count, one, ValueRange{c},
                 [&](OpBuilder &nested, Location, Value row, ValueRange iter) {
                   Value updated =
                       emitRegisterTile(nested, loc, a, bMatrix, iter[0], row,
                                        1, tile.cols, tile.cols);
                   scf::YieldOp::create(nested, loc, updated);
                 })
                 .getResult(0);
  }
  rewriter.replaceOp(op, result);
}

//===----------------------------------------------------------------------===//
// Weight-only quantized matmuls (kiln-quantize)
//===----------------------------------------------------------------------===//

/// A `[R, N]` quantized-weight param (values, scales or zero points), or a
/// column block of one, read as `[N / columns, R, columns]` panels; null
/// when `value` is no such param.
Value createQuantPanels(RewriterBase &rewriter, Value value, int64_t columns) {
  std::optional<ParamColumns> weight = matchParamColumns(value);
  if (!weight || !weight->param.getQuant())
    return nullptr;
  return createParamPanels(rewriter, value.getLoc(), *weight, columns);
}

/// Unsigned int4 values as f32: the low nibbles of `bytes` (`half` 0) or
/// the high ones (`half` 1), widened through `intVector`.
Value nibblesToFloat(OpBuilder &b, Location loc, Value bytes, int64_t half,
                     VectorType intVector, VectorType floatVector) {
  Value wide = arith::ExtUIOp::create(b, loc, intVector, bytes);
  Value shiftOrMask = arith::ConstantOp::create(
      b, loc, intVector,
      DenseElementsAttr::get(intVector, APInt(32, half == 1 ? 4 : 15)));
  wide = half == 1
             ? arith::ShRUIOp::create(b, loc, wide, shiftOrMask).getResult()
             : arith::AndIOp::create(b, loc, wide, shiftOrMask).getResult();
  return arith::UIToFPOp::create(b, loc, floatVector, wide);
}

/// The panels of one quantized weight, cut `columns` wide.
struct QuantPanels {
  QuantAttr quant;
  Value values, scales, zeros; ///< zeros null when symmetric
  int64_t columns;
};

/// Emits the register tile `C[row0 + i, col0 + :columns] += sum_k A[row0 +
/// i, k] * W[k, col0 + :columns]` (i < rows) of panel `panel`, W being
/// dequantized in registers: per group, the scales `s` and offsets `c = -z
/// * s` are loaded once, and each step of K converts one panel row of
/// values to f32 and forms `w = v * s + c` before the multiply-adds. Int4
/// bytes give two rows of K, low nibble first. With `validCols` <
/// `w.columns` (the zero-padded last panel) C ends after `validCols`
/// columns of the panel: only the 8-lane pieces that hold some are
/// computed, the last one read and written masked. Returns the updated C.
Value emitQuantRegisterTile(OpBuilder &b, Location loc, Value a, Value c,
                            const QuantPanels &w, Value panel, Value col0,
                            Value row0, int64_t rows, int64_t validCols) {
  Type f32 = b.getF32Type();
  auto floatVector = VectorType::get({kLanes}, f32);
  auto byteVector = VectorType::get({kLanes}, b.getI8Type());
  auto intVector = VectorType::get({kLanes}, b.getI32Type());
  int64_t chunks = llvm::divideCeilSigned(validCols, kLanes);
  int64_t perByte = w.quant.getValuesPerByte();
  int64_t groupRows = w.quant.getGroup() / perByte;
  int64_t groups = cast<ShapedType>(w.scales.getType()).getDimSize(1);
  auto index = [&](OpBuilder &builder, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  auto read = [&](OpBuilder &builder, VectorType type, Value source,
                  ValueRange indices, bool inBounds = true) -> Value {
    std::optional<Value> padding;
    if (!inBounds)
      padding =
          arith::ConstantOp::create(builder, loc, f32, builder.getZeroAttr(f32))
              .getResult();
    return vector::TransferReadOp::create(builder, loc, type, source, indices,
                                          padding, ArrayRef<bool>{inBounds});
  };
  // Piece j of C lies within its columns unless it ends past validCols.
  auto cInBounds = [&](int64_t j) { return (j + 1) * kLanes <= validCols; };
  Value zero = index(b, 0), one = index(b, 1);
  SmallVector<Value> rowIndex, laneOffset, cColumn;
  for (int64_t i = 0; i < rows; ++i)
    rowIndex.push_back(
        i == 0 ? row0
               : arith::AddIOp::create(b, loc, row0, index(b, i)).getResult());
  for (int64_t j = 0; j < chunks; ++j) {
    laneOffset.push_back(index(b, j * kLanes));
    cColumn.push_back(
        arith::AddIOp::create(b, loc, col0, laneOffset.back()).getResult());
  }
  // Accumulator (i, j) is iter_arg i * chunks + j.
  SmallVector<Value> accumulators;
  for (Value row : rowIndex)
    for (auto [j, column] : llvm::enumerate(cColumn))
      accumulators.push_back(
          read(b, floatVector, c, {row, column}, cInBounds(j)));

  auto groupLoop = scf::ForOp::create(
      b, loc, zero, index(b, groups), one, accumulators,
      [&](OpBuilder &gb, Location, Value group, ValueRange groupSums) {
        SmallVector<Value> scale, offset;
        for (Value lane : laneOffset) {
          Value s = read(gb, floatVector, w.scales, {panel, group, lane});
          Value z;
          if (w.zeros)
            z = read(gb, floatVector, w.zeros, {panel, group, lane});
          else if (w.quant.getBits() == 4)
            z = arith::ConstantOp::create(
                gb, loc, floatVector, DenseElementsAttr::get(floatVector, 8.0f));
          scale.push_back(s);
          offset.push_back(
              z ? arith::NegFOp::create(gb, loc,
                                        arith::MulFOp::create(gb, loc, z, s))
                      .getResult()
                : Value());
        }
        Value firstRow = arith::MulIOp::create(gb, loc, group,
                                               index(gb, groupRows));
        auto stepLoop = scf::ForOp::create(
            gb, loc, zero, index(gb, groupRows), one, groupSums,
            [&](OpBuilder &sb, Location, Value step, ValueRange sums) {
              Value byteRow = arith::AddIOp::create(sb, loc, firstRow, step);
              SmallVector<Value> bytes;
              for (Value lane : laneOffset)
                bytes.push_back(
                    read(sb, byteVector, w.values, {panel, byteRow, lane}));
              SmallVector<Value> next(sums);
              for (int64_t half = 0; half < perByte; ++half) {
                Value k = byteRow;
                if (perByte == 2)
                  k = arith::AddIOp::create(
                      sb, loc,
                      arith::MulIOp::create(sb, loc, byteRow, index(sb, 2)),
                      index(sb, half));
                SmallVector<Value> weight;
                for (auto [j, byte] : llvm::enumerate(bytes)) {
                  Value value =
                      perByte == 1
                          ? arith::SIToFPOp::create(sb, loc, floatVector, byte)
                                .getResult()
                          : nibblesToFloat(sb, loc, byte, half, intVector,
                                           floatVector);
                  weight.push_back(
                      offset[j] ? vector::FMAOp::create(sb, loc, value,
                                                        scale[j], offset[j])
                                      .getResult()
                                : arith::MulFOp::create(sb, loc, value,
                                                        scale[j])
                                      .getResult());
                }
                for (auto [i, row] : llvm::enumerate(rowIndex)) {
                  Value scalar = tensor::ExtractOp::create(sb, loc, a,
                                                           ValueRange{row, k});
                  Value splat = vector::BroadcastOp::create(sb, loc,
                                                            floatVector, scalar);
                  for (int64_t j = 0; j < chunks; ++j)
                    next[i * chunks + j] = vector::FMAOp::create(
                        sb, loc, splat, weight[j], next[i * chunks + j]);
                }
              }
              scf::YieldOp::create(sb, loc, next);
            });
        scf::YieldOp::create(gb, loc, stepLoop.getResults());
      });
  for (auto [i, row] : llvm::enumerate(rowIndex))
    for (auto [j, column] : llvm::enumerate(cColumn))
      c = vector::TransferWriteOp::create(
              b, loc, groupLoop.getResult(i * chunks + j), c,
              ValueRange{row, column},
              ArrayRef<bool>{cInBounds(static_cast<int64_t>(j))})
              .getResult();
  return c;
}

/// Replaces a quantized matmul generic (marked `kiln.quant` by the kiln
/// lowering) with register tiles that dequantize the weight panel rows they
/// read: loops over column panels, then groups of `tile.rows` rows of A,
/// then the leftover rows one by one. A zero-padded last panel (N a
/// multiple of no tile width) is peeled off the panel loop and stores only
/// its valid columns. Leaves the op alone (for the scalar loops of linalg)
/// when its weight is not in params or N gets no tile.
LogicalResult vectorizeQuantizedMatmul(RewriterBase &rewriter,
                                       linalg::GenericOp op) {
  auto quant = op->getAttrOfType<QuantAttr>("kiln.quant");
  Value c = op.getDpsInitOperand(0)->get();
  auto cType = cast<RankedTensorType>(c.getType());
  int64_t n = cType.getDimSize(1);
  // The tile follows from all the weight's columns, as for dense weights.
  std::optional<ParamColumns> weight =
      matchParamColumns(op.getDpsInputOperand(1)->get());
  RegisterTile tile =
      weight ? pickWeightRegisterTile(weight->fullSize) : pickRegisterTile(n);
  if (!quant || !tile.cols || !op.hasPureTensorSemantics() ||
      ShapedType::isDynamic(n))
    return success();
  int64_t partial = n % tile.cols;
  if (partial && !endsInPartialPanel(*weight, tile.cols))
    return success();
  rewriter.setInsertionPoint(op);
  QuantPanels w{quant, nullptr, nullptr, nullptr, tile.cols};
  w.values = createQuantPanels(rewriter, op.getDpsInputOperand(1)->get(),
                               tile.cols);
  w.scales = createQuantPanels(rewriter, op.getDpsInputOperand(2)->get(),
                               tile.cols);
  if (op.getNumDpsInputs() == 4)
    w.zeros = createQuantPanels(rewriter, op.getDpsInputOperand(3)->get(),
                                tile.cols);
  if (!w.values || !w.scales || (op.getNumDpsInputs() == 4 && !w.zeros))
    return op.emitError("kiln-cpu-vectorize-matmul: a quantized matmul "
                        "must read its weight from kiln.param ops");
  Location loc = op.getLoc();
  Value a = op.getDpsInputOperand(0)->get();
  auto index = [&](OpBuilder &builder, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  Value zero = index(rewriter, 0), one = index(rewriter, 1);
  Value rowCount = tensor::DimOp::create(rewriter, loc, a, 0);
  Value fullRows = arith::SubIOp::create(
      rewriter, loc, rowCount,
      arith::RemUIOp::create(rewriter, loc, rowCount,
                             index(rewriter, tile.rows)));
  // Every row of panel `panel` (`validCols` of its columns) into C.
  auto emitPanel = [&](OpBuilder &pb, Value panel, Value c, int64_t validCols) {
    Value col0 = arith::MulIOp::create(pb, loc, panel, index(pb, tile.cols));
    auto rowLoop = [&](OpBuilder &builder, Value from, Value to, int64_t rows,
                       Value init) {
      return scf::ForOp::create(
                 builder, loc, from, to, index(builder, rows), ValueRange{init},
                 [&](OpBuilder &rb, Location, Value row0, ValueRange iter) {
                   Value updated =
                       emitQuantRegisterTile(rb, loc, a, iter[0], w, panel,
                                             col0, row0, rows, validCols);
                   scf::YieldOp::create(rb, loc, updated);
                 })
          .getResult(0);
    };
    if (tile.rows > 1)
      c = rowLoop(pb, zero, fullRows, tile.rows, c);
    return rowLoop(pb, tile.rows > 1 ? fullRows : zero, rowCount, 1, c);
  };
  int64_t panels = n / tile.cols;
  Value result = c;
  if (panels)
    result =
        scf::ForOp::create(
            rewriter, loc, zero, index(rewriter, panels), one, ValueRange{c},
            [&](OpBuilder &pb, Location, Value panel, ValueRange panelIter) {
              scf::YieldOp::create(
                  pb, loc, emitPanel(pb, panel, panelIter[0], tile.cols));
            })
            .getResult(0);
  if (partial)
    result = emitPanel(rewriter, index(rewriter, panels), result, partial);
  rewriter.replaceOp(op, result);
  return success();
}

struct KilnCpuVectorizeMatmulPass
    : public kiln::impl::KilnCpuVectorizeMatmulBase<
          KilnCpuVectorizeMatmulPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    SmallVector<linalg::GenericOp> matmuls;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isOrderedMatmul(op))
        matmuls.push_back(op);
    });

    for (linalg::GenericOp op : matmuls) {
      // A weight's tile follows from all its columns, so that the column
      // blocks of kiln-cpu-tile-and-parallelize read whole panels.
      int64_t n = op.getStaticLoopRanges()[2];
      std::optional<ParamColumns> weight = matchWeight(op);
      RegisterTile tile =
          weight ? pickWeightRegisterTile(weight->fullSize) : RegisterTile{};
      if (weight && tile.cols && n % tile.cols &&
          endsInPartialPanel(*weight, tile.cols)) {
        // The columns of the padded last panel get masked tiles of their
        // own; the whole panels before them, if any, the usual ones.
        if (n < tile.cols) {
          vectorizePartialPanel(rewriter, op, *weight, tile);
          continue;
        }
        auto halves = splitColumns(rewriter, op, n - n % tile.cols);
        if (failed(halves)) {
          op.emitError("kiln-cpu-vectorize-matmul: cannot split off the "
                       "partial last panel of this weight matmul");
          return signalPassFailure();
        }
        op = halves->first;
        n = op.getStaticLoopRanges()[2];
        weight = matchWeight(op);
        std::optional<ParamColumns> rest = matchWeight(halves->second);
        if (!weight || !rest) {
          op.emitError("kiln-cpu-vectorize-matmul: lost the weight while "
                       "splitting off its partial last panel");
          return signalPassFailure();
        }
        vectorizePartialPanel(rewriter, halves->second, *rest, tile);
      }
      if (!weight || !tile.cols || n % tile.cols) {
        weight.reset();
        tile = pickRegisterTile(n);
      }
      if (!tile.cols)
        continue;
      // Weights are read as contiguous panels of the tile's width.
      if (weight)
        op = packWeightPanels(rewriter, op, *weight, tile.cols);
      if (failed(tileRowGroups(rewriter, op, tile)))
        return signalPassFailure();
    }

    // Peeling left static row counts in the index arithmetic; fold them into
    // the types before vectorizing.
    RewritePatternSet patterns(ctx);
    for (Dialect *dialect : ctx->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    SmallVector<linalg::GenericOp> groups;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->hasAttr(kRowGroupAttr))
        groups.push_back(op);
    });
    for (linalg::GenericOp op : groups)
      vectorizeRowGroup(rewriter, op);

    SmallVector<linalg::GenericOp> quantized;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->hasAttr("kiln.quant"))
        quantized.push_back(op);
    });
    for (linalg::GenericOp op : quantized)
      if (failed(vectorizeQuantizedMatmul(rewriter, op)))
        return signalPassFailure();
  }
};

} // namespace
