//===- MatmulTiles.cpp - Tile choices shared by the CPU matmul passes -----===//
//
// Part of Kiln. See MatmulTiles.h.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/MatmulTiles.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::kiln;

/// With AVX2's 16 vector registers, 12 accumulators keep both FMA pipes
/// busy (5-cycle latency) and leave room for the B vectors and the
/// broadcast of A. Every row count divides the 32-row blocks of
/// kiln-cpu-tile-and-parallelize, so that only a matmul's last block has
/// leftover rows (done by one-row tiles, which are latency-bound).
static constexpr RegisterTile kTiles[] = {{4, 24}, {2, 48}, {4, 16}, {1, 64},
                                          {1, 32}, {1, 16}, {1, 8}};

RegisterTile mlir::kiln::pickRegisterTile(int64_t n) {
  if (ShapedType::isDynamic(n))
    return {};
  for (RegisterTile tile : kTiles)
    if (n % tile.cols == 0)
      return tile;
  return {};
}

RegisterTile mlir::kiln::pickWeightRegisterTile(int64_t n) {
  RegisterTile divides = pickRegisterTile(n);
  if (divides.cols || ShapedType::isDynamic(n))
    return divides;
  // No tile divides n (GPT-2's vocabulary, 50257): pad the last panel. The
  // bulk of the columns should still get a wide tile; only the padding of
  // one panel is wasted work, which must stay small next to n.
  RegisterTile least;
  int64_t leastPadded = 0;
  for (RegisterTile tile : kTiles) {
    if (tile.cols > n)
      continue;
    int64_t padded = llvm::divideCeilSigned(n, tile.cols) * tile.cols;
    if ((padded - n) * 8 <= n)
      return tile;
    if (!least.cols || padded < leastPadded) {
      least = tile;
      leastPadded = padded;
    }
  }
  return least;
}

std::optional<ParamColumns> mlir::kiln::matchParamColumns(Value value) {
  if (!value)
    return std::nullopt;
  // The outermost slice gives the size; offsets add up.
  std::optional<int64_t> size;
  OpFoldResult offset = Builder(value.getContext()).getIndexAttr(0);
  while (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>()) {
    auto sourceType = cast<RankedTensorType>(slice.getSourceType());
    if (sourceType.getRank() != 2 || slice.getType().getRank() != 2 ||
        !slice.hasUnitStride() || !isZeroInteger(slice.getMixedOffsets()[0]) ||
        slice.getStaticSizes()[0] != sourceType.getDimSize(0) ||
        ShapedType::isDynamic(slice.getStaticSizes()[1]))
      return std::nullopt;
    if (!size)
      size = slice.getStaticSizes()[1];
    OpFoldResult inner = slice.getMixedOffsets()[1];
    std::optional<int64_t> outerConst = getConstantIntValue(offset);
    std::optional<int64_t> innerConst = getConstantIntValue(inner);
    if (outerConst && innerConst)
      offset =
          Builder(value.getContext()).getIndexAttr(*outerConst + *innerConst);
    else if (outerConst == 0)
      offset = inner;
    else if (innerConst != 0)
      return std::nullopt;
    value = slice.getSource();
  }
  auto param = value.getDefiningOp<ParamOp>();
  if (!param || param.getPanels() || param.getType().getRank() != 2)
    return std::nullopt;
  int64_t fullSize = param.getType().getDimSize(1);
  return ParamColumns{param, offset, size.value_or(fullSize), fullSize};
}

Value mlir::kiln::createParamPanels(OpBuilder &builder, Location loc,
                                    const ParamColumns &columns,
                                    int64_t width) {
  ParamOp param = columns.param;
  RankedTensorType type = param.getType();
  int64_t rows = type.getDimSize(0), cols = columns.fullSize;
  auto panelType =
      RankedTensorType::get({llvm::divideCeilSigned(cols, width), rows, width},
                            type.getElementType());
  Value panels = ParamOp::create(
      builder, param.getLoc(), panelType, param.getNameAttr(),
      param.getTransposedAttr(), builder.getI64IntegerAttr(width),
      param.getQuantAttr(), param.getPartAttr(), param.getEncodingAttr(),
      param.getConcatAttr(),
      cols % width ? builder.getI64IntegerAttr(cols) : IntegerAttr());
  if (columns.size == cols)
    return panels;
  // Column block [offset, offset + size) is panels [offset / width, ...).
  Value offset =
      getValueOrCreateConstantIndexOp(builder, loc, columns.offset);
  Value first = arith::DivUIOp::create(
      builder, loc, offset, arith::ConstantIndexOp::create(builder, loc, width));
  SmallVector<OpFoldResult> offsets = {first, builder.getIndexAttr(0),
                                       builder.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {
      builder.getIndexAttr(llvm::divideCeilSigned(columns.size, width)),
      builder.getIndexAttr(rows), builder.getIndexAttr(width)};
  SmallVector<OpFoldResult> strides(3, builder.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(builder, loc, panels, offsets, sizes,
                                        strides);
}

FailureOr<std::pair<linalg::GenericOp, linalg::GenericOp>>
mlir::kiln::splitColumns(RewriterBase &rewriter, linalg::GenericOp op,
                         int64_t split) {
  constexpr unsigned kN = 2;
  if (op.getNumLoops() != 3 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics())
    return failure();
  int64_t n = op.getStaticLoopRanges()[kN];
  if (ShapedType::isDynamic(n) || split <= 0 || split >= n)
    return failure();
  bool readsN = false;
  op.getBody()->walk(
      [&](linalg::IndexOp index) { readsN |= index.getDim() == kN; });
  if (readsN)
    return failure();
  // Per operand, the dim that walks n (-1: none).
  SmallVector<int64_t> columnDim;
  AffineExpr nExpr = getAffineDimExpr(kN, op.getContext());
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    int64_t dim = -1;
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      if (expr == nExpr && dim < 0)
        dim = i;
      else if (expr.isFunctionOfDim(kN))
        return failure();
    }
    columnDim.push_back(dim);
  }
  if (columnDim.back() < 0)
    return failure();

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto slice = [&](Value value, int64_t dim, int64_t offset, int64_t size) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, value);
    SmallVector<OpFoldResult> strides(type.getRank(), rewriter.getIndexAttr(1));
    offsets[dim] = rewriter.getIndexAttr(offset);
    sizes[dim] = rewriter.getIndexAttr(size);
    return std::make_tuple(offsets, sizes, strides);
  };
  auto extract = [&](Value value, int64_t dim, int64_t offset,
                     int64_t size) -> Value {
    auto [offsets, sizes, strides] = slice(value, dim, offset, size);
    return tensor::ExtractSliceOp::create(rewriter, loc, value, offsets, sizes,
                                          strides);
  };
  Value init = op.getDpsInitOperand(0)->get();
  int64_t initDim = columnDim.back();
  auto fill = init.getDefiningOp<linalg::FillOp>();
  Value dest = fill ? fill.getOutputs()[0] : init;
  auto part = [&](int64_t offset, int64_t size) {
    SmallVector<Value> inputs;
    for (OpOperand *input : op.getDpsInputOperands()) {
      int64_t dim = columnDim[input->getOperandNumber()];
      inputs.push_back(dim < 0 ? input->get()
                               : extract(input->get(), dim, offset, size));
    }
    Value partInit = extract(dest, initDim, offset, size);
    if (fill)
      partInit = linalg::FillOp::create(rewriter, loc, fill.getInputs(),
                                        ValueRange{partInit})
                     .getResult(0);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{partInit.getType()}, inputs,
        ValueRange{partInit}, op.getIndexingMapsArray(),
        op.getIteratorTypesArray());
    rewriter.cloneRegionBefore(op.getRegion(), generic.getRegion(),
                               generic.getRegion().begin());
    generic->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    return generic;
  };
  linalg::GenericOp head = part(0, split);
  linalg::GenericOp tail = part(split, n - split);
  Value result = dest;
  for (auto [generic, offset, size] :
       {std::make_tuple(head, int64_t(0), split),
        std::make_tuple(tail, split, n - split)}) {
    auto [offsets, sizes, strides] = slice(result, initDim, offset, size);
    result = tensor::InsertSliceOp::create(rewriter, loc, generic.getResult(0),
                                           result, offsets, sizes, strides);
  }
  rewriter.replaceOp(op, result);
  return std::make_pair(head, tail);
}
