//===- ModelBuilder.cpp - Shared pieces of the Hugging Face importer ------===//

#include "ModelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;
namespace st = ::kiln::safetensors;

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

const llvm::json::Value *Config::lookup(StringRef key) const {
  const llvm::json::Value *value = object.get(key);
  if (!value || value->kind() == llvm::json::Value::Null)
    return nullptr;
  return value;
}

bool Config::has(StringRef key) const { return lookup(key) != nullptr; }

bool Config::isString(StringRef key) const {
  const llvm::json::Value *value = lookup(key);
  return value && value->kind() == llvm::json::Value::String;
}

void Config::fail(StringRef key, const Twine &message) {
  fail("field '" + key + "' " + message);
}

void Config::fail(const Twine &message) {
  if (!error)
    error = path + ": " + message.str();
}

int64_t Config::getPositive(StringRef key) {
  if (!lookup(key)) {
    fail("missing field '" + key + "'");
    return 1;
  }
  return getPositive(key, 1);
}

int64_t Config::getPositive(StringRef key, int64_t otherwise) {
  const llvm::json::Value *value = lookup(key);
  if (!value)
    return otherwise;
  std::optional<int64_t> integer = value->getAsInteger();
  if (!integer) {
    fail(key, "must be an integer");
    return 1;
  }
  if (*integer <= 0) {
    fail(key, "must be positive, got " + Twine(*integer));
    return 1;
  }
  if (*integer > kMaxConfigInteger) {
    fail(key, "must be at most " + Twine(kMaxConfigInteger) + ", got " +
                  Twine(*integer));
    return 1;
  }
  return *integer;
}

double Config::getFloat(StringRef key, double otherwise) {
  const llvm::json::Value *value = lookup(key);
  if (!value)
    return otherwise;
  std::optional<double> number = value->getAsNumber();
  if (!number || !std::isfinite(*number) || *number < 0) {
    fail(key, "must be a non-negative number");
    return otherwise;
  }
  return *number;
}

bool Config::getBool(StringRef key, bool otherwise) {
  const llvm::json::Value *value = lookup(key);
  if (!value)
    return otherwise;
  std::optional<bool> flag = value->getAsBoolean();
  if (!flag) {
    fail(key, "must be true or false");
    return otherwise;
  }
  return *flag;
}

std::string Config::getString(StringRef key, StringRef otherwise) {
  const llvm::json::Value *value = lookup(key);
  if (!value)
    return otherwise.str();
  std::optional<StringRef> text = value->getAsString();
  if (!text) {
    fail(key, "must be a string");
    return otherwise.str();
  }
  return text->str();
}

void Config::requireAbsent(StringRef key, StringRef what) {
  if (has(key))
    fail(key, "is set, but Kiln does not implement " + what +
                  " (remove it or set it to null)");
}

void Config::requireDivisible(StringRef numeratorKey, int64_t numerator,
                              StringRef denominatorKey, int64_t denominator) {
  if (denominator > 0 && numerator % denominator != 0)
    fail("'" + numeratorKey + "' (" + Twine(numerator) +
         ") must be a multiple of '" + denominatorKey + "' (" +
         Twine(denominator) + ")");
}

//===----------------------------------------------------------------------===//
// ModelBuilder: checkpoint
//===----------------------------------------------------------------------===//

ModelBuilder::ModelBuilder(MLIRContext *context,
                           const st::Checkpoint &checkpoint, Config &config)
    : checkpoint(checkpoint), config(config),
      module(ModuleOp::create(UnknownLoc::get(context))),
      b(UnknownLoc::get(context), context) {
  b.setInsertionPointToEnd(module->getBody());
}

std::optional<std::string> ModelBuilder::getError() const {
  if (config.getError())
    return config.getError();
  return error;
}

void ModelBuilder::fail(const Twine &message) {
  if (!error)
    error = message.str();
}

bool ModelBuilder::hasTensor(StringRef name) const {
  return checkpoint.lookup(name) != nullptr;
}

std::string ModelBuilder::detectPrefix(ArrayRef<StringRef> prefixes,
                                       StringRef probe) {
  for (StringRef prefix : prefixes)
    if (hasTensor((prefix + probe).str()))
      return prefix.str();
  std::string tried;
  for (StringRef prefix : prefixes)
    tried += (tried.empty() ? "'" : ", '") + (prefix + probe).str() + "'";
  fail(checkpoint.getPath() + ": none of " + tried +
       " is in the checkpoint; is this the model config.json says?");
  return prefixes.front().str();
}

/// "F32 [768, 64]".
static std::string describe(StringRef dtype, ArrayRef<int64_t> shape) {
  std::string text = dtype.str() + " [";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d);
  return text + "]";
}

Value ModelBuilder::param(ArrayRef<std::string> names,
                          ArrayRef<int64_t> shape) {
  const std::string *found = &names.front();
  const st::TensorInfo *tensor = nullptr;
  for (const std::string &name : names)
    if ((tensor = checkpoint.lookup(name))) {
      found = &name;
      break;
    }
  if (!tensor) {
    fail("tensor '" + names.front() + "' is missing from " +
         checkpoint.getPath() + " (expected " + describe("F32", shape) + ")");
  } else if ((tensor->dtype != st::DType::F32 &&
              tensor->dtype != st::DType::F16 &&
              tensor->dtype != st::DType::BF16) ||
             ArrayRef<int64_t>(tensor->shape) != shape) {
    // Half-precision tensors are widened to F32 when the weights are
    // written.
    fail("tensor '" + *found + "' in " + checkpoint.fileOf(*found) +
         " is " + describe(st::dtypeName(tensor->dtype), tensor->shape) +
         " but config.json implies " + describe("F32", shape) +
         " (F16 and BF16 are accepted too)");
  }
  return ParamOp::create(b, f32(shape), *found, /*transposed=*/false,
                         IntegerAttr(), QuantAttr(), QuantPartAttr(),
                         /*encoding=*/StringAttr(), /*concat=*/ArrayAttr(),
                         /*columns=*/IntegerAttr());
}

Value ModelBuilder::optionalParam(const std::string &name,
                                  ArrayRef<int64_t> shape) {
  return hasTensor(name) ? param(name, shape) : Value();
}

std::pair<Value, Value> ModelBuilder::layerNormParams(const std::string &prefix,
                                                      int64_t size) {
  Value weight = param({prefix + "weight", prefix + "gamma"}, {size});
  Value bias = param({prefix + "bias", prefix + "beta"}, {size});
  return {weight, bias};
}

//===----------------------------------------------------------------------===//
// ModelBuilder: entries
//===----------------------------------------------------------------------===//

static DictionaryAttr specAttrs(Builder &b, const TensorSpec &spec) {
  SmallVector<Attribute> dims;
  for (const std::string &dim : spec.dims)
    dims.push_back(b.getStringAttr(dim));
  return b.getDictionaryAttr(
      {b.getNamedAttr("kiln.name", b.getStringAttr(spec.name)),
       b.getNamedAttr("kiln.dims", b.getArrayAttr(dims))});
}

SmallVector<Value> ModelBuilder::beginEntry(StringRef name,
                                            ArrayRef<TensorSpec> inputs,
                                            ArrayRef<TensorSpec> outputs) {
  b.setInsertionPointToEnd(module->getBody());
  SmallVector<Type> inputTypes, outputTypes;
  SmallVector<DictionaryAttr> inputAttrs, outputAttrs;
  for (const TensorSpec &spec : inputs) {
    inputTypes.push_back(spec.type);
    inputAttrs.push_back(specAttrs(b, spec));
  }
  for (const TensorSpec &spec : outputs) {
    outputTypes.push_back(spec.type);
    outputAttrs.push_back(specAttrs(b, spec));
  }
  currentEntry = func::FuncOp::create(
      b, name, b.getFunctionType(inputTypes, outputTypes));
  currentEntry.setAllArgAttrs(inputAttrs);
  currentEntry.setAllResultAttrs(outputAttrs);
  Block *body = currentEntry.addEntryBlock();
  b.setInsertionPointToStart(body);
  return SmallVector<Value>(body->getArguments());
}

void ModelBuilder::endEntry(ValueRange results) {
  func::ReturnOp::create(b, results);
  b.setInsertionPointToEnd(module->getBody());
}

//===----------------------------------------------------------------------===//
// ModelBuilder: ops
//===----------------------------------------------------------------------===//

RankedTensorType ModelBuilder::f32(ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

RankedTensorType ModelBuilder::i64(ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getI64Type());
}

Value ModelBuilder::dim(Value tensor, int64_t index) {
  return tensor::DimOp::create(b, tensor, index);
}

/// `type` with its last dim set to `size`.
static RankedTensorType withLastDim(Value value, int64_t size) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = size;
  return RankedTensorType::get(shape, type.getElementType());
}

Value ModelBuilder::linear(Value input, Value weight, Value bias,
                           WeightLayout layout) {
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t out = weightType.getDimSize(layout == WeightLayout::out_in ? 0 : 1);
  return LinearOp::create(b, withLastDim(input, out), input, weight, bias,
                          /*residual=*/Value(), layout);
}

Value ModelBuilder::layerNorm(Value input, Value weight, Value bias,
                              double epsilon) {
  return LayerNormOp::create(b, input.getType(), input, weight, bias,
                             b.getF64FloatAttr(epsilon));
}

Value ModelBuilder::rmsNorm(Value input, Value weight, double epsilon) {
  return RmsNormOp::create(b, input.getType(), input, weight,
                           b.getF64FloatAttr(epsilon));
}

Value ModelBuilder::add(Value lhs, Value rhs) {
  return AddOp::create(b, lhs.getType(), lhs, rhs);
}

Value ModelBuilder::activation(Activation kind, Value input) {
  return ActivationOp::create(b, input.getType(), kind, input);
}

Value ModelBuilder::embedding(Value table, Value ids) {
  auto idsType = cast<RankedTensorType>(ids.getType());
  SmallVector<int64_t> shape(idsType.getShape());
  shape.push_back(cast<RankedTensorType>(table.getType()).getDimSize(1));
  return EmbeddingOp::create(b, f32(shape), table, ids);
}

Value ModelBuilder::splitHeads(Value input, int64_t heads) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape().drop_back());
  shape.push_back(heads);
  shape.push_back(type.getShape().back() / heads);
  return SplitHeadsOp::create(b, f32(shape), input, heads);
}

Value ModelBuilder::mergeHeads(Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape().drop_back(2));
  shape.push_back(type.getShape().back() *
                  type.getShape()[type.getRank() - 2]);
  return MergeHeadsOp::create(b, f32(shape), input);
}

Value ModelBuilder::sliceLastDim(Value input, int64_t offset, int64_t size) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, b.getLoc(), input);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets.back() = b.getIndexAttr(offset);
  sizes.back() = b.getIndexAttr(size);
  return tensor::ExtractSliceOp::create(b, withLastDim(input, size), input,
                                        offsets, sizes, strides);
}

Value ModelBuilder::positionIds(Value ids, Value start) {
  auto type = i64({ShapedType::kDynamic, ShapedType::kDynamic});
  SmallVector<Value> extents = {dim(ids, 0), dim(ids, 1)};
  return tensor::GenerateOp::create(
      b, type, extents,
      [&](OpBuilder &nested, Location loc, ValueRange indices) {
        Value position = arith::IndexCastOp::create(
            nested, loc, nested.getI64Type(), indices[1]);
        if (start) {
          Value first =
              tensor::ExtractOp::create(nested, loc, start, indices[0]);
          position = arith::AddIOp::create(nested, loc, first, position);
        }
        tensor::YieldOp::create(nested, loc, position);
      });
}

Value ModelBuilder::zerosI64(Value like) {
  Value batch = dim(like, 0);
  Value empty = tensor::EmptyOp::create(b, ArrayRef<int64_t>{ShapedType::kDynamic},
                                        b.getI64Type(), ValueRange{batch});
  Value zero = arith::ConstantOp::create(b, b.getI64IntegerAttr(0));
  return linalg::FillOp::create(b, zero, empty).getResult(0);
}

Value ModelBuilder::negExp(Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  Value init = tensor::EmptyOp::create(b, type.getShape(),
                                       type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, TypeRange{type}, ValueRange{input}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity}, iterators,
      [](OpBuilder &nested, Location loc, ValueRange args) {
        Value exp = math::ExpOp::create(nested, loc, args[0]);
        Value neg = arith::NegFOp::create(nested, loc, exp);
        linalg::YieldOp::create(nested, loc, neg);
      });
  return generic.getResult(0);
}

Value ModelBuilder::maskTokens(Value input, Value mask) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Value init = tensor::EmptyOp::create(
      b, tensor::getMixedSizes(b, b.getLoc(), input), type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap tokens = AffineMap::get(
      rank, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)}, b.getContext());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, TypeRange{type}, ValueRange{input, mask}, ValueRange{init},
      ArrayRef<AffineMap>{identity, tokens, identity}, iterators,
      [](OpBuilder &nested, Location loc, ValueRange args) {
        Value zeroFlag = arith::ConstantOp::create(
            nested, loc, nested.getIntegerAttr(args[1].getType(), 0));
        Value real = arith::CmpIOp::create(
            nested, loc, arith::CmpIPredicate::ne, args[1], zeroFlag);
        Value zero = arith::ConstantOp::create(
            nested, loc, nested.getZeroAttr(args[0].getType()));
        linalg::YieldOp::create(
            nested, loc,
            ValueRange{arith::SelectOp::create(nested, loc, real, args[0],
                                               zero)});
      });
  return generic.getResult(0);
}

Value ModelBuilder::collapse(Value input,
                             ArrayRef<ReassociationIndices> reassociation) {
  return tensor::CollapseShapeOp::create(b, input, reassociation);
}

Value ModelBuilder::extractLayer(Value stacked, int64_t layer) {
  auto type = cast<RankedTensorType>(stacked.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(b, b.getLoc(), stacked);
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[0] = b.getIndexAttr(layer);
  sizes[0] = b.getIndexAttr(1);
  auto resultType =
      RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
  return tensor::ExtractSliceOp::create(b, resultType, stacked, offsets, sizes,
                                        strides);
}

Value ModelBuilder::insertLayer(Value value, Value stacked, int64_t layer) {
  auto type = cast<RankedTensorType>(stacked.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  llvm::append_range(sizes, tensor::getMixedSizes(b, b.getLoc(), value));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[0] = b.getIndexAttr(layer);
  return tensor::InsertSliceOp::create(b, value, stacked, offsets, sizes,
                                       strides);
}

Value ModelBuilder::emptyStacked(RankedTensorType type,
                                 ValueRange dynamicSizes) {
  return tensor::EmptyOp::create(b, type.getShape(), type.getElementType(),
                                 dynamicSizes);
}
