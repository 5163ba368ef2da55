//===- LoweringUtils.cpp - Shared helpers of the kiln lowering ------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

SmallVector<OpFoldResult> lowering::getSizes(OpBuilder &b, Location loc,
                                             Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

Value lowering::getDimValue(OpBuilder &b, Location loc, Value value,
                            int64_t dim) {
  return getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, value, dim));
}

Value lowering::indexConst(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value lowering::floatConst(OpBuilder &b, Location loc, Type type,
                           double value) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
}

Value lowering::negInfConst(OpBuilder &b, Location loc, Type type) {
  auto floatType = cast<FloatType>(type);
  APFloat inf = APFloat::getInf(floatType.getFloatSemantics(),
                                /*Negative=*/true);
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, inf));
}

Value lowering::emptyTensor(OpBuilder &b, Location loc,
                            ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value lowering::filledTensor(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes, Type elementType,
                             double value) {
  Value empty = emptyTensor(b, loc, sizes, elementType);
  Value scalar = floatConst(b, loc, elementType, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{empty})
      .getResult(0);
}

Type lowering::accumulatorType(Type elementType) {
  if (elementType.getIntOrFloatBitWidth() < 32)
    return Float32Type::get(elementType.getContext());
  return elementType;
}

Value lowering::convertFloat(OpBuilder &b, Location loc, Value value,
                             Type type) {
  Type from = value.getType();
  if (from == type)
    return value;
  if (from.getIntOrFloatBitWidth() < type.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, type, value);
  return arith::TruncFOp::create(b, loc, type, value);
}

Value lowering::extractAsIndex(OpBuilder &b, Location loc, Value tensor,
                               ValueRange indices) {
  Value element = tensor::ExtractOp::create(b, loc, tensor, indices);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), element);
}

Value lowering::castToType(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(b, loc, type, value);
}

Value lowering::applyActivation(OpBuilder &b, Location loc, Activation kind,
                                Value x) {
  Type type = x.getType();
  auto half = [&]() { return floatConst(b, loc, type, 0.5); };
  auto one = [&]() { return floatConst(b, loc, type, 1.0); };
  switch (kind) {
  case Activation::identity:
    return x;
  case Activation::gelu: {
    // torch.nn.GELU(): 0.5 * x * (1 + erf(x / sqrt(2))).
    Value scaled =
        arith::MulFOp::create(b, loc, x, floatConst(b, loc, type, M_SQRT1_2));
    Value erf = math::ErfOp::create(b, loc, scaled);
    Value onePlus = arith::AddFOp::create(b, loc, one(), erf);
    Value halfX = arith::MulFOp::create(b, loc, half(), x);
    return arith::MulFOp::create(b, loc, halfX, onePlus);
  }
  case Activation::gelu_tanh: {
    // GELU(approximate='tanh'):
    // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))).
    Value x3 =
        arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, x, x), x);
    Value inner = arith::AddFOp::create(
        b, loc, x,
        arith::MulFOp::create(b, loc, floatConst(b, loc, type, 0.044715), x3));
    Value arg = arith::MulFOp::create(
        b, loc, floatConst(b, loc, type, std::sqrt(2.0 / M_PI)), inner);
    Value onePlus =
        arith::AddFOp::create(b, loc, one(), math::TanhOp::create(b, loc, arg));
    Value halfX = arith::MulFOp::create(b, loc, half(), x);
    return arith::MulFOp::create(b, loc, halfX, onePlus);
  }
  case Activation::silu: {
    // x * sigmoid(x) = x / (1 + exp(-x)); large negative x gives -0, not NaN.
    Value negX = arith::NegFOp::create(b, loc, x);
    Value denom =
        arith::AddFOp::create(b, loc, one(), math::ExpOp::create(b, loc, negX));
    return arith::DivFOp::create(b, loc, x, denom);
  }
  case Activation::relu:
    return arith::MaximumFOp::create(b, loc, x, floatConst(b, loc, type, 0.0));
  }
  return x;
}

AffineMap lowering::dimsMap(MLIRContext *ctx, unsigned numDims,
                            ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned dim : dims)
    exprs.push_back(getAffineDimExpr(dim, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value lowering::buildGeneric(
    OpBuilder &b, Location loc, ValueRange inputs,
    ArrayRef<AffineMap> inputMaps, Value init,
    ArrayRef<utils::IteratorType> iterators,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<unsigned> outDims;
  for (auto [i, kind] : llvm::enumerate(iterators))
    if (kind == utils::IteratorType::parallel)
      outDims.push_back(i);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(dimsMap(ctx, iterators.size(), outDims));
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = body(nb, nloc, args);
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

Value lowering::buildElementwise(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  unsigned rank = cast<RankedTensorType>(init.getType()).getRank();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  SmallVector<AffineMap> maps(inputs.size(), identity);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return buildGeneric(b, loc, inputs, maps, init, iterators, body);
}

/// `init[m, n] + sum_k lhs[m, k] * w[k, n]` with `w` the f32 weight that
/// `dequantize` encodes, dequantized element by element inside the
/// contraction: one generic over (m, k, n) reading the quantized tensors,
/// marked `kiln.quant` for kiln-cpu-vectorize-matmul. No f32 copy of the
/// weight is made.
static Value buildQuantizedMatmul(OpBuilder &b, Location loc, Value lhs,
                                  DequantizeOp dequantize, Value init) {
  MLIRContext *ctx = b.getContext();
  QuantAttr quant = dequantize.getQuant();
  int64_t k = cast<ShapedType>(dequantize.getType()).getDimSize(0);
  AffineExpr m, kk, n;
  bindDims(ctx, m, kk, n);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, ctx);
  };
  int64_t perByte = quant.getValuesPerByte();
  // One group spanning K reads row 0 of the scales.
  AffineExpr group = quant.getGroup() == k
                         ? getAffineConstantExpr(0, ctx)
                         : kk.floorDiv(quant.getGroup());
  SmallVector<Value> inputs = {lhs, dequantize.getValues(),
                               dequantize.getScales()};
  SmallVector<AffineMap> maps = {
      map({m, kk}), map({perByte == 1 ? kk : kk.floorDiv(perByte), n}),
      map({group, n})};
  if (Value zeros = dequantize.getZeroPoints()) {
    inputs.push_back(zeros);
    maps.push_back(map({group, n}));
  }
  maps.push_back(map({m, n}));
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel, IteratorType::reduction, IteratorType::parallel};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Type f32 = nb.getF32Type();
        Value value;
        if (quant.getBits() == 8) {
          value = arith::SIToFPOp::create(nb, l, f32, args[1]);
        } else {
          // Row k's nibble: the low one for even k, the high one for odd.
          Type i32 = nb.getI32Type();
          Value byte = arith::ExtUIOp::create(nb, l, i32, args[1]);
          Value row = arith::IndexCastOp::create(
              nb, l, i32, linalg::IndexOp::create(nb, l, 1));
          auto i32Const = [&](int64_t v) -> Value {
            return arith::ConstantIntOp::create(nb, l, i32, v);
          };
          Value shift = arith::MulIOp::create(
              nb, l, arith::AndIOp::create(nb, l, row, i32Const(1)),
              i32Const(4));
          Value nibble = arith::AndIOp::create(
              nb, l, arith::ShRUIOp::create(nb, l, byte, shift),
              i32Const(15));
          value = arith::UIToFPOp::create(nb, l, f32, nibble);
        }
        Value zero = args.size() == 5 ? args[3]
                                      : floatConst(nb, l, f32,
                                                   quant.getBits() == 4 ? 8.0
                                                                        : 0.0);
        Value weight = arith::MulFOp::create(
            nb, l, arith::SubFOp::create(nb, l, value, zero), args[2]);
        Value product = arith::MulFOp::create(nb, l, args[0], weight);
        linalg::YieldOp::create(
            nb, l, arith::AddFOp::create(nb, l, args.back(), product).getResult());
      });
  generic->setAttr("kiln.quant", quant);
  return generic.getResult(0);
}

/// The reassociation between a rank-`rank` tensor and its view as a matrix
/// [rows, last dim]: {{0, 1}} for a vector (one row), the leading dims
/// collapsed into rows otherwise; empty for a matrix.
static SmallVector<ReassociationIndices> matrixReassociation(int64_t rank) {
  if (rank == 1)
    return {{0, 1}};
  if (rank == 2)
    return {};
  ReassociationIndices lead;
  for (int64_t i = 0; i < rank - 1; ++i)
    lead.push_back(i);
  return {lead, {rank - 1}};
}

/// `value` (rank >= 1) viewed as the matrix [rows, last dim].
static Value viewAsMatrix(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return value;
  SmallVector<ReassociationIndices> reassoc = matrixReassociation(rank);
  ArrayRef<int64_t> shape = type.getShape();
  if (rank == 1)
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, shape[0]}, type.getElementType()),
        value, reassoc,
        ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                               tensor::getMixedSize(b, loc, value, 0)});
  int64_t rows = 1;
  for (int64_t size : shape.drop_back())
    rows = ShapedType::isDynamic(size) || ShapedType::isDynamic(rows)
               ? ShapedType::kDynamic
               : rows * size;
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({rows, shape.back()}, type.getElementType()),
      value, reassoc);
}

Value lowering::buildLinear(OpBuilder &b, Location loc, Value input,
                            Value weight, Value bias, WeightLayout layout,
                            Value residual) {
  auto inType = cast<RankedTensorType>(input.getType());
  Type elementType = inType.getElementType();
  int64_t rank = inType.getRank();
  bool outIn = layout == WeightLayout::out_in;
  SmallVector<OpFoldResult> inSizes = getSizes(b, loc, input);
  OpFoldResult n = tensor::getMixedSize(b, loc, weight, outIn ? 0 : 1);

  // View the input (and the residual) as [M, K] ([M, N]).
  SmallVector<ReassociationIndices> reassoc = matrixReassociation(rank);
  Value lhs = viewAsMatrix(b, loc, input);
  Value residual2d = residual ? viewAsMatrix(b, loc, residual) : Value();

  // Start from the residual and the broadcast bias so that the matmul
  // accumulates onto them.
  OpFoldResult mSize = tensor::getMixedSize(b, loc, lhs, 0);
  SmallVector<OpFoldResult> outSizes{mSize, n};
  Value init;
  if (residual2d && bias) {
    Value empty = emptyTensor(b, loc, outSizes, elementType);
    MLIRContext *context = b.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, context);
    AffineMap column = AffineMap::get(2, 0, getAffineDimExpr(1, context));
    init =
        linalg::GenericOp::create(
            b, loc, TypeRange{empty.getType()}, ValueRange{residual2d, bias},
            ValueRange{empty}, ArrayRef<AffineMap>{identity, column, identity},
            SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
            [](OpBuilder &nb, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  nb, l,
                  arith::AddFOp::create(nb, l, args[0], args[1]).getResult());
            })
            .getResult(0);
  } else if (residual2d) {
    init = residual2d;
  } else if (bias) {
    Value empty = emptyTensor(b, loc, outSizes, elementType);
    init =
        linalg::BroadcastOp::create(b, loc, bias, empty, ArrayRef<int64_t>{0})
            .getResult()[0];
  } else {
    init = filledTensor(b, loc, outSizes, elementType, 0.0);
  }
  Value product;
  if (auto dequantize = weight.getDefiningOp<DequantizeOp>();
      dequantize && !outIn && elementType.isF32())
    product = buildQuantizedMatmul(b, loc, lhs, dequantize, init);
  else if (outIn)
    product = linalg::MatmulTransposeBOp::create(
                  b, loc, TypeRange{init.getType()}, ValueRange{lhs, weight},
                  ValueRange{init})
                  .getResult(0);
  else
    product =
        linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                 ValueRange{lhs, weight}, ValueRange{init})
            .getResult(0);

  // Restore the leading dims.
  if (rank == 2)
    return product;
  SmallVector<int64_t> outShape(inType.getShape());
  outShape.back() = cast<RankedTensorType>(product.getType()).getDimSize(1);
  auto outType = RankedTensorType::get(outShape, elementType);
  if (rank == 1)
    return tensor::CollapseShapeOp::create(b, loc, outType, product, reassoc);
  SmallVector<OpFoldResult> expandedSizes(inSizes);
  expandedSizes.back() = n;
  return tensor::ExpandShapeOp::create(b, loc, outType, product, reassoc,
                                       expandedSizes);
}

Value lowering::prependUnitDim(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape{1};
  shape.append(type.getShape().begin(), type.getShape().end());
  SmallVector<ReassociationIndices> reassoc{{0, 1}};
  for (int64_t i = 1; i < type.getRank(); ++i)
    reassoc.push_back({i + 1});
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1)};
  llvm::append_range(sizes, getSizes(b, loc, value));
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      reassoc, sizes);
}

Value lowering::dropLeadingUnitDim(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<ReassociationIndices> reassoc{{0, 1}};
  for (int64_t i = 2; i < type.getRank(); ++i)
    reassoc.push_back({i});
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get(type.getShape().drop_front(),
                            type.getElementType()),
      value, reassoc);
}

/// Slices `[offset, offset + size)` of dim `dim` of `value`, keeping all
/// other dims whole.
static Value sliceDim(OpBuilder &b, Location loc, Value value, int64_t dim,
                      OpFoldResult offset, OpFoldResult size) {
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, value);
  int64_t rank = sizes.size();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  offsets[dim] = offset;
  sizes[dim] = size;
  return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides);
}

Value lowering::sliceDim0(OpBuilder &b, Location loc, Value value,
                          OpFoldResult offset, OpFoldResult size) {
  return sliceDim(b, loc, value, 0, offset, size);
}

Value lowering::sliceLastDim(OpBuilder &b, Location loc, Value value,
                             int64_t offset, int64_t size) {
  return sliceDim(b, loc, value,
                  cast<RankedTensorType>(value.getType()).getRank() - 1,
                  b.getIndexAttr(offset), b.getIndexAttr(size));
}

Value lowering::insertDim0(OpBuilder &b, Location loc, Value source, Value dest,
                           OpFoldResult offset) {
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, source);
  int64_t rank = sizes.size();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  offsets[0] = offset;
  return tensor::InsertSliceOp::create(b, loc, source, dest, offsets, sizes,
                                       strides);
}

std::pair<Value, Value> lowering::sequenceBounds(OpBuilder &b, Location loc,
                                                 Value cuSeqlens, Value seq) {
  Value next = arith::AddIOp::create(b, loc, seq, indexConst(b, loc, 1));
  Value start = extractAsIndex(b, loc, cuSeqlens, seq);
  Value end = extractAsIndex(b, loc, cuSeqlens, next);
  return {start, arith::SubIOp::create(b, loc, end, start)};
}
