//===- MatmulTiles.cpp - Tile choices shared by the CPU matmul passes -----===//
//
// Part of Kiln. See MatmulTiles.h.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/MatmulTiles.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;

RegisterTile mlir::kiln::pickRegisterTile(int64_t n) {
  // With AVX2's 16 vector registers, 12 accumulators keep both FMA pipes
  // busy (5-cycle latency) and leave room for the B vectors and the
  // broadcast of A. Every row count divides the 32-row blocks of
  // kiln-cpu-tile-and-parallelize, so that only a matmul's last block has
  // leftover rows (done by one-row tiles, which are latency-bound).
  static constexpr RegisterTile kTiles[] = {
      {4, 24}, {2, 48}, {4, 16}, {1, 64}, {1, 32}, {1, 16}, {1, 8}};
  if (ShapedType::isDynamic(n))
    return {};
  for (RegisterTile tile : kTiles)
    if (n % tile.cols == 0)
      return tile;
  return {};
}

std::optional<ParamColumns> mlir::kiln::matchParamColumns(Value value) {
  if (!value)
    return std::nullopt;
  OpFoldResult offset;
  auto slice = value.getDefiningOp<tensor::ExtractSliceOp>();
  if (slice) {
    auto sourceType = cast<RankedTensorType>(slice.getSourceType());
    if (sourceType.getRank() != 2 || slice.getType().getRank() != 2 ||
        !slice.hasUnitStride() || !isZeroInteger(slice.getMixedOffsets()[0]) ||
        slice.getStaticSizes()[0] != sourceType.getDimSize(0) ||
        ShapedType::isDynamic(slice.getStaticSizes()[1]))
      return std::nullopt;
    offset = slice.getMixedOffsets()[1];
    value = slice.getSource();
  }
  auto param = value.getDefiningOp<ParamOp>();
  if (!param || param.getPanels() || param.getType().getRank() != 2)
    return std::nullopt;
  ParamColumns columns{param, offset, 0, param.getType().getDimSize(1)};
  if (!slice) {
    columns.offset = Builder(param.getContext()).getIndexAttr(0);
    columns.size = columns.fullSize;
  } else {
    columns.size = slice.getStaticSizes()[1];
  }
  return columns;
}

Value mlir::kiln::createParamPanels(OpBuilder &builder, Location loc,
                                    const ParamColumns &columns,
                                    int64_t width) {
  ParamOp param = columns.param;
  RankedTensorType type = param.getType();
  int64_t rows = type.getDimSize(0), cols = columns.fullSize;
  auto panelType = RankedTensorType::get({cols / width, rows, width},
                                         type.getElementType());
  Value panels = ParamOp::create(
      builder, param.getLoc(), panelType, param.getNameAttr(),
      param.getTransposedAttr(), builder.getI64IntegerAttr(width),
      param.getQuantAttr(), param.getPartAttr(), param.getEncodingAttr(),
      param.getConcatAttr());
  if (columns.size == cols)
    return panels;
  // Column block [offset, offset + size) is panels [offset / width, ...).
  Value offset =
      getValueOrCreateConstantIndexOp(builder, loc, columns.offset);
  Value first = arith::DivUIOp::create(
      builder, loc, offset, arith::ConstantIndexOp::create(builder, loc, width));
  SmallVector<OpFoldResult> offsets = {first, builder.getIndexAttr(0),
                                       builder.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {builder.getIndexAttr(columns.size / width),
                                     builder.getIndexAttr(rows),
                                     builder.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(3, builder.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(builder, loc, panels, offsets, sizes,
                                        strides);
}
