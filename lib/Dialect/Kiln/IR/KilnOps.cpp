//===- KilnOps.cpp - kiln operations --------------------------------------===//
//
// Part of Kiln. Op verifiers: each one checks every operand against the
// shape the others imply and names the operand, the expected shape and where
// the expectation comes from.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// Multiplies two sizes, keeping dynamic dynamic.
int64_t mulDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? kDyn : a * b;
}

/// Adds a constant to a size, keeping dynamic dynamic.
int64_t addDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? kDyn : a + b;
}

/// Prints `[2, ?, 768]`.
std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os, [&](int64_t dim) {
    if (ShapedType::isDynamic(dim))
      os << '?';
    else
      os << dim;
  });
  os << ']';
  return text;
}

/// Two dims agree unless both are static and differ.
bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks operands and results of one op against expected shapes and element
/// types; the first mismatch becomes a located error on the op.
class ShapeVerifier {
public:
  explicit ShapeVerifier(Operation *op) : op(op) {}

  /// `value` (called `name`) must have `expected` shape; dynamic entries of
  /// `expected` accept any size. `why` explains the expectation.
  LogicalResult shape(StringRef name, Value value, ArrayRef<int64_t> expected,
                      StringRef why = {}) {
    auto type = cast<RankedTensorType>(value.getType());
    bool ok = type.getRank() == static_cast<int64_t>(expected.size());
    for (auto [actual, want] : llvm::zip(type.getShape(), expected))
      ok = ok && dimsCompatible(actual, want);
    if (ok)
      return success();
    InFlightDiagnostic diag = op->emitOpError()
                              << name << " has shape "
                              << formatShape(type.getShape())
                              << " but expected " << formatShape(expected);
    if (!why.empty())
      diag << " (" << why << ")";
    return diag;
  }

  /// `value` must have rank `rank`; `layout` spells the dims out.
  LogicalResult rank(StringRef name, Value value, int64_t rank,
                     StringRef layout) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() == rank)
      return success();
    return op->emitOpError()
           << name << " must have rank " << rank << " (" << layout << "), got "
           << formatShape(type.getShape());
  }

  /// `value` must have element type `expected` (that of `reference`).
  LogicalResult elementType(StringRef name, Value value, Type expected,
                            StringRef reference) {
    Type actual = cast<ShapedType>(value.getType()).getElementType();
    if (actual == expected)
      return success();
    return op->emitOpError()
           << name << " has element type " << actual << " but expected "
           << expected << " (that of " << reference << ")";
  }

  /// Like `shape` for an optional value; absent values pass.
  LogicalResult optionalShape(StringRef name, Value value,
                              ArrayRef<int64_t> expected, StringRef why = {}) {
    return value ? shape(name, value, expected, why) : success();
  }

private:
  Operation *op;
};

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

Type elementTypeOf(Value value) {
  return cast<ShapedType>(value.getType()).getElementType();
}

/// `prefix` followed by `tail`.
SmallVector<int64_t> concatShape(ArrayRef<int64_t> prefix,
                                 ArrayRef<int64_t> tail) {
  SmallVector<int64_t> result(prefix);
  result.append(tail.begin(), tail.end());
  return result;
}

/// The batch size that `cu_seqlens` ([batch + 1]) implies.
int64_t batchFromCuSeqlens(Value cuSeqlens) {
  return addDim(shapeOf(cuSeqlens)[0], -1);
}

} // namespace

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty parameter name");
  ArrayRef<int64_t> shape = getType().getShape();
  if (static_cast<bool>(getQuant()) != getPart().has_value())
    return emitOpError("needs both `quant` and `part`, or neither");
  if (getQuant()) {
    Type element = getType().getElementType();
    bool wantI8 = *getPart() == QuantPart::values;
    if (wantI8 ? !element.isSignlessInteger(8) : !element.isF32())
      return emitOpError() << "reads the " << stringifyQuantPart(*getPart())
                           << " of a quantized weight, which are "
                           << (wantI8 ? "i8" : "f32") << ", got " << element;
  }
  std::optional<uint64_t> columns = getColumns();
  if (columns && !getPanels())
    return emitOpError("`columns` needs `panels`");
  if (std::optional<uint64_t> panels = getPanels()) {
    if (shape.size() != 3 || shape[2] != static_cast<int64_t>(*panels))
      return emitOpError() << "with panels " << *panels
                           << " must have type [ceil(columns / " << *panels
                           << "), rows, " << *panels << "], got "
                           << formatShape(shape);
    if (columns &&
        (*columns % *panels == 0 ||
         static_cast<int64_t>(llvm::divideCeil(*columns, *panels)) != shape[0]))
      return emitOpError() << "with panels " << *panels << " and columns "
                           << *columns << " must have "
                           << llvm::divideCeil(*columns, *panels)
                           << " panels, the last one partial (columns "
                           << "that fill whole panels need no `columns`), "
                              "got "
                           << formatShape(shape);
    return success();
  }
  if (getTransposed() && shape.size() != 2)
    return emitOpError() << "can only transpose a 2-D weight, got "
                         << formatShape(shape);
  if (std::optional<ArrayAttr> concat = getConcat()) {
    if (concat->empty() || shape.empty() || getEncoding())
      return emitOpError("`concat` needs at least one name, a tensor of "
                         "rank >= 1 and no `encoding`");
    for (StringRef name : concat->getAsValueRange<StringAttr>())
      if (name.empty())
        return emitOpError("has an empty name in `concat`");
  }
  if (std::optional<StringRef> encoding = getEncoding()) {
    if (getTransposed())
      return emitOpError("cannot both transpose and encode a weight");
    StringRef part = encoding->rsplit('.').second;
    bool known = (encoding->starts_with("bsr") &&
                  (part == "values" || part == "columns" ||
                   part == "offsets")) ||
                 *encoding == "2:4.values" || *encoding == "2:4.meta";
    if (!known)
      return emitOpError() << "has unknown encoding '" << *encoding
                           << "' (expected bsrRxC.values, bsrRxC.columns, "
                              "bsrRxC.offsets, 2:4.values or 2:4.meta)";
  }
  return success();
}

SmallVector<StringRef> ParamOp::getSourceNames() {
  SmallVector<StringRef> names = {getName()};
  if (std::optional<ArrayAttr> concat = getConcat())
    llvm::append_range(names, concat->getAsValueRange<StringAttr>());
  return names;
}

ParamOp ParamOp::createStacked(OpBuilder &builder, Location loc,
                               ArrayRef<ParamOp> parts) {
  if (parts.size() < 2)
    return nullptr;
  ParamOp leader = parts.front();
  RankedTensorType first = leader.getType();
  if (first.getRank() == 0)
    return nullptr;
  SmallVector<int64_t> shape(first.getShape());
  shape[0] = 0;
  SmallVector<Attribute> rest;
  for (auto [index, part] : llvm::enumerate(llvm::to_vector(parts))) {
    RankedTensorType type = part.getType();
    if (!part.isPlain() || type.getElementType() != first.getElementType() ||
        type.getShape().drop_front() != first.getShape().drop_front())
      return nullptr;
    shape[0] += type.getDimSize(0);
    if (index > 0)
      rest.push_back(part.getNameAttr());
  }
  return ParamOp::create(
      builder, loc, RankedTensorType::get(shape, first.getElementType()),
      leader.getNameAttr(), /*transposed=*/nullptr, /*panels=*/nullptr,
      /*quant=*/nullptr, /*part=*/nullptr, /*encoding=*/nullptr,
      builder.getArrayAttr(rest), /*columns=*/nullptr);
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  QuantAttr quant = getQuant();
  auto result = cast<ShapedType>(getType());
  auto values = cast<ShapedType>(getValues().getType());
  auto scales = cast<ShapedType>(getScales().getType());
  if (result.getRank() != 2 || !result.hasStaticShape())
    return emitOpError() << "result must be a static [K, N] weight, got "
                         << result;
  int64_t k = result.getDimSize(0), n = result.getDimSize(1);
  if (k % quant.getGroup() != 0)
    return emitOpError() << "group " << quant.getGroup()
                         << " does not divide K = " << k;
  SmallVector<int64_t> wantValues = {k / quant.getValuesPerByte(), n};
  SmallVector<int64_t> wantScales = {k / quant.getGroup(), n};
  if (values.getShape() != ArrayRef<int64_t>(wantValues))
    return emitOpError() << "values must be " << formatShape(wantValues)
                         << " for " << quant.getBits() << "-bit values of a "
                         << formatShape(result.getShape())
                         << " weight, got " << formatShape(values.getShape());
  if (scales.getShape() != ArrayRef<int64_t>(wantScales))
    return emitOpError() << "scales must be " << formatShape(wantScales)
                         << " (one per group and output), got "
                         << formatShape(scales.getShape());
  if (quant.getSymmetric() == static_cast<bool>(getZeroPoints()))
    return emitOpError() << (quant.getSymmetric()
                                 ? "a symmetric scheme takes no zero points"
                                 : "an asymmetric scheme needs zero points");
  if (Value zeros = getZeroPoints();
      zeros && cast<ShapedType>(zeros.getType()).getShape() !=
                   ArrayRef<int64_t>(wantScales))
    return emitOpError() << "zero points must be " << formatShape(wantScales)
                         << ", got "
                         << formatShape(
                                cast<ShapedType>(zeros.getType()).getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  ShapeVerifier check(*this);
  if (failed(check.rank("table", getTable(), 2, "[vocab, hidden]")))
    return failure();
  SmallVector<int64_t> expected =
      concatShape(shapeOf(getIds()), shapeOf(getTable())[1]);
  if (failed(check.shape("result", getResult(), expected,
                         "ids shape followed by the table's hidden size")) ||
      failed(check.elementType("result", getResult(), elementTypeOf(getTable()),
                               "table")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

int64_t LinearOp::getInFeatures() {
  ArrayRef<int64_t> w = shapeOf(getWeight());
  return getLayout() == WeightLayout::out_in ? w[1] : w[0];
}

int64_t LinearOp::getOutFeatures() {
  ArrayRef<int64_t> w = shapeOf(getWeight());
  return getLayout() == WeightLayout::out_in ? w[0] : w[1];
}

LogicalResult LinearOp::verify() {
  ShapeVerifier check(*this);
  StringRef layout =
      getLayout() == WeightLayout::out_in ? "[out, in]" : "[in, out]";
  if (failed(check.rank("weight", getWeight(), 2, layout)))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.empty())
    return emitOpError("input must have rank >= 1, got a scalar tensor");
  SmallVector<int64_t> expectedIn(in.drop_back());
  expectedIn.push_back(getInFeatures());
  SmallVector<int64_t> expectedOut(in.drop_back());
  expectedOut.push_back(getOutFeatures());
  Type elementType = elementTypeOf(getInput());
  if (failed(check.shape("input", getInput(), expectedIn,
                         "last dim = the weight's input features")) ||
      failed(check.optionalShape("bias", getBias(), {getOutFeatures()},
                                 "the weight's output features")) ||
      failed(check.shape("result", getResult(), expectedOut,
                         "input with the last dim = output features")) ||
      failed(check.optionalShape("residual", getResidual(), expectedOut,
                                 "the result's shape")) ||
      failed(check.elementType("weight", getWeight(), elementType, "input")) ||
      failed(check.elementType("result", getResult(), elementType, "input")))
    return failure();
  for (auto [name, value] : {std::pair<StringRef, Value>{"bias", getBias()},
                             {"residual", getResidual()}})
    if (value && failed(check.elementType(name, value, elementType, "input")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// BlockSparseLinearOp / SemiSparseLinearOp
//===----------------------------------------------------------------------===//

/// Shared checks of the sparse linears: input `[..., in]`, bias `[out]`,
/// result `[..., out]`, one element type.
static LogicalResult verifySparseLinear(Operation *op, Value input,
                                        Value values, Value bias,
                                        Value result, int64_t in,
                                        int64_t out) {
  ShapeVerifier check(op);
  ArrayRef<int64_t> inShape = shapeOf(input);
  if (inShape.empty())
    return op->emitOpError("input must have rank >= 1, got a scalar tensor");
  SmallVector<int64_t> expectedIn(inShape.drop_back());
  expectedIn.push_back(in);
  SmallVector<int64_t> expectedOut(inShape.drop_back());
  expectedOut.push_back(out);
  Type elementType = elementTypeOf(input);
  if (failed(check.shape("input", input, expectedIn,
                         "last dim = the weight's input features")) ||
      failed(check.optionalShape("bias", bias, {out},
                                 "the weight's output features")) ||
      failed(check.shape("result", result, expectedOut,
                         "input with the last dim = output features")) ||
      failed(check.elementType("values", values, elementType, "input")) ||
      failed(check.elementType("result", result, elementType, "input")))
    return failure();
  if (bias && failed(check.elementType("bias", bias, elementType, "input")))
    return failure();
  return success();
}

LogicalResult BlockSparseLinearOp::verify() {
  ShapeVerifier check(*this);
  if (failed(check.rank("values", getValues(), 3, "[blocks, R, C]")))
    return failure();
  ArrayRef<int64_t> values = shapeOf(getValues());
  if (ShapedType::isDynamic(values[1]) || ShapedType::isDynamic(values[2]) ||
      values[1] < 1 || values[2] < 1)
    return emitOpError() << "values must have a static block shape, got "
                         << formatShape(values);
  ArrayRef<int64_t> offsets = shapeOf(getOffsets());
  if (ShapedType::isDynamic(offsets[0]) || offsets[0] < 2)
    return emitOpError() << "offsets must have a static size >= 2 (block "
                            "rows + 1), got "
                         << formatShape(offsets);
  if (failed(check.shape("columns", getColumns(), {values[0]},
                         "one block column per stored block")))
    return failure();
  int64_t in = shapeOf(getInput()).empty() ? 0 : shapeOf(getInput()).back();
  if (ShapedType::isDynamic(in) || in % values[2] != 0)
    return emitOpError() << "input features (" << in
                         << ") must be static and a multiple of the block "
                            "width "
                         << values[2];
  return verifySparseLinear(*this, getInput(), getValues(), getBias(),
                            getResult(), in, (offsets[0] - 1) * values[1]);
}

LogicalResult SemiSparseLinearOp::verify() {
  ShapeVerifier check(*this);
  if (failed(check.rank("values", getValues(), 2, "[out, in / 2]")))
    return failure();
  ArrayRef<int64_t> values = shapeOf(getValues());
  if (ShapedType::isDynamic(values[0]) || ShapedType::isDynamic(values[1]) ||
      values[1] % 4 != 0)
    return emitOpError() << "values must be static [out, in / 2] with in a "
                            "multiple of 8, got "
                         << formatShape(values);
  if (failed(check.shape("meta", getMeta(), {values[0], values[1] / 4},
                         "[out, in / 8], four 2-bit positions per byte")))
    return failure();
  return verifySparseLinear(*this, getInput(), getValues(), getBias(),
                            getResult(), 2 * values[1], values[0]);
}

//===----------------------------------------------------------------------===//
// FfnOp
//===----------------------------------------------------------------------===//

LogicalResult FfnOp::verify() {
  ShapeVerifier check(*this);
  bool outIn = getLayout() == WeightLayout::out_in;
  StringRef upLayout = outIn ? "[inter, hidden]" : "[hidden, inter]";
  StringRef downLayout = outIn ? "[hidden, inter]" : "[inter, hidden]";
  if (failed(check.rank("up weight", getUpWeight(), 2, upLayout)) ||
      failed(check.rank("down weight", getDownWeight(), 2, downLayout)))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.empty())
    return emitOpError("input must have rank >= 1, got a scalar tensor");
  int64_t hidden = in.back();
  ArrayRef<int64_t> up = shapeOf(getUpWeight());
  int64_t upOut = outIn ? up[0] : up[1];
  bool stacked = getStackedGate();
  if (stacked) {
    if (getGateWeight() || getGateBias())
      return emitOpError("has `stacked_gate` and a separate gate weight or "
                         "bias; the gate is either stacked into up or not");
    if (ShapedType::isDynamic(upOut) || upOut % 2 != 0)
      return emitOpError() << "has `stacked_gate`, so the up weight stacks "
                              "gate and up and needs a static, even "
                              "intermediate dim, got "
                           << formatShape(up);
  }
  int64_t inter = stacked ? upOut / 2 : upOut;
  SmallVector<int64_t> upShape = outIn ? SmallVector<int64_t>{upOut, hidden}
                                       : SmallVector<int64_t>{hidden, upOut};
  SmallVector<int64_t> downShape = outIn ? SmallVector<int64_t>{hidden, inter}
                                         : SmallVector<int64_t>{inter, hidden};
  if (failed(check.shape("up weight", getUpWeight(), upShape,
                         "hidden = the input's last dim")) ||
      failed(check.optionalShape("gate weight", getGateWeight(), upShape,
                                 "same as the up weight")) ||
      failed(check.shape("down weight", getDownWeight(), downShape,
                         stacked ? "[hidden, inter] with up [2 * inter, "
                                   "hidden], in the op's layout"
                                 : "the transpose of the up weight")) ||
      failed(check.optionalShape("up bias", getUpBias(), {upOut},
                                 stacked ? "gate's and up's, stacked"
                                         : "the intermediate size")) ||
      failed(check.optionalShape("gate bias", getGateBias(), {inter},
                                 "the intermediate size")) ||
      failed(check.optionalShape("down bias", getDownBias(), {hidden},
                                 "the hidden size")) ||
      failed(check.shape("result", getResult(), in, "the input's shape")) ||
      failed(check.optionalShape("residual", getResidual(), in,
                                 "the input's shape")))
    return failure();
  if (getGateBias() && !getGateWeight())
    return emitOpError("has a gate bias but no gate weight");
  Type elementType = elementTypeOf(getInput());
  StringRef names[] = {"up weight", "gate weight", "down weight", "up bias",
                       "gate bias", "down bias",   "residual",    "result"};
  Value values[] = {getUpWeight(), getGateWeight(), getDownWeight(),
                    getUpBias(),   getGateBias(),   getDownBias(),
                    getResidual(), getResult()};
  for (auto [name, value] : llvm::zip(names, values))
    if (value && failed(check.elementType(name, value, elementType, "input")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

/// Shared checks of layer_norm and rms_norm: [hidden] weight and bias, the
/// input's type for the result, a non-negative epsilon.
static LogicalResult verifyNorm(Operation *op, Value input, Value weight,
                                Value bias, Value result, double epsilon) {
  ShapeVerifier check(op);
  ArrayRef<int64_t> in = shapeOf(input);
  if (in.empty())
    return op->emitOpError("input must have rank >= 1, got a scalar tensor");
  if (!(epsilon >= 0.0))
    return op->emitOpError() << "epsilon must be >= 0, got " << epsilon;
  Type elementType = elementTypeOf(input);
  if (failed(check.optionalShape("weight", weight, {in.back()},
                                 "the input's last dim")) ||
      failed(check.optionalShape("bias", bias, {in.back()},
                                 "the input's last dim")) ||
      failed(check.shape("result", result, in, "the input's shape")) ||
      failed(check.elementType("result", result, elementType, "input")))
    return failure();
  StringRef names[] = {"weight", "bias"};
  Value values[] = {weight, bias};
  for (auto [name, value] : llvm::zip(names, values))
    if (value && failed(check.elementType(name, value, elementType, "input")))
      return failure();
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getBias(), getResult(),
                    getEpsilon().convertToDouble());
}

LogicalResult RmsNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), Value(), getResult(),
                    getEpsilon().convertToDouble());
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

int64_t RopeOp::getEffectiveRotaryDim() {
  if (std::optional<uint64_t> dim = getRotaryDim())
    return static_cast<int64_t>(*dim);
  return shapeOf(getInput()).back();
}

LogicalResult RopeOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() != 4 && in.size() != 3)
    return emitOpError() << "input must be [batch, seq, heads, head_dim] or "
                            "packed [tokens, heads, head_dim], got "
                         << formatShape(in);
  SmallVector<int64_t> positionShape(in.drop_back(2));
  if (failed(check.shape("positions", getPositions(), positionShape,
                         in.size() == 4 ? "[batch, seq] of the input"
                                        : "[tokens] of the packed input")) ||
      failed(check.shape("result", getResult(), in, "the input's shape")) ||
      failed(check.elementType("result", getResult(), elementTypeOf(getInput()),
                               "input")))
    return failure();
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError() << "theta must be positive, got "
                         << getTheta().convertToDouble();
  int64_t headDim = in.back();
  if (ShapedType::isDynamic(headDim))
    return emitOpError("needs a static head_dim");
  int64_t rotary = getEffectiveRotaryDim();
  if (rotary <= 0 || rotary > headDim || rotary % 2 != 0)
    return emitOpError() << "rotary_dim must be even and in (0, head_dim = "
                         << headDim << "], got " << rotary;
  return success();
}

//===----------------------------------------------------------------------===//
// ActivationOp
//===----------------------------------------------------------------------===//

OpFoldResult ActivationOp::fold(FoldAdaptor) {
  if (getKind() == Activation::identity)
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// Head reshapes
//===----------------------------------------------------------------------===//

LogicalResult SplitHeadsOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> in = shapeOf(getInput());
  int64_t heads = static_cast<int64_t>(getNumHeads());
  if (heads <= 0)
    return emitOpError() << "num_heads must be positive, got " << heads;
  if (in.empty())
    return emitOpError("input must have rank >= 1, got a scalar tensor");
  int64_t width = in.back();
  if (ShapedType::isDynamic(width))
    return emitOpError("needs a static last dim to split");
  if (width % heads != 0)
    return emitOpError() << "last dim " << width
                         << " is not divisible by num_heads = " << heads;
  SmallVector<int64_t> expected(in.drop_back());
  expected.append({heads, width / heads});
  if (failed(check.shape("result", getResult(), expected,
                         "[..., heads, last_dim / heads]")) ||
      failed(check.elementType("result", getResult(), elementTypeOf(getInput()),
                               "input")))
    return failure();
  return success();
}

LogicalResult MergeHeadsOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() < 2)
    return emitOpError() << "input must have rank >= 2 ([..., heads, "
                            "head_dim]), got "
                         << formatShape(in);
  SmallVector<int64_t> expected(in.drop_back(2));
  expected.push_back(mulDims(in[in.size() - 2], in.back()));
  if (failed(check.shape("result", getResult(), expected,
                         "[..., heads * head_dim]")) ||
      failed(check.elementType("result", getResult(), elementTypeOf(getInput()),
                               "input")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getScaleOrDefault() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(shapeOf(getQuery()).back()));
}

LogicalResult AttentionOp::verify() {
  ShapeVerifier check(*this);
  int64_t heads = static_cast<int64_t>(getNumHeads());
  int64_t kvHeads = static_cast<int64_t>(getNumKvHeads());
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads = " << heads
                         << " must be a multiple of num_kv_heads = " << kvHeads;
  if (std::optional<APFloat> scale = getScale())
    if (!(scale->convertToDouble() > 0.0))
      return emitOpError() << "scale must be positive, got "
                           << scale->convertToDouble();

  ArrayRef<int64_t> q = shapeOf(getQuery());
  bool packed = q.size() == 3;
  if (q.size() != 4 && !packed)
    return emitOpError() << "query must be [batch, q_len, heads, head_dim] or "
                            "packed [tokens, heads, head_dim], got "
                         << formatShape(q);
  StringRef kvLayout = packed ? "[tokens, kv_heads, head_dim]"
                              : "[batch, kv_len, kv_heads, head_dim]";
  if (failed(check.rank("key", getKey(), q.size(), kvLayout)) ||
      failed(check.rank("value", getValue(), q.size(), kvLayout)))
    return failure();
  ArrayRef<int64_t> k = shapeOf(getKey());
  int64_t headDim = q.back();
  int64_t valueDim = shapeOf(getValue()).back();
  if (ShapedType::isDynamic(headDim) || ShapedType::isDynamic(valueDim))
    return emitOpError("needs static head dims in query and value");

  // Leading dims: [batch, len] padded, [tokens] packed.
  SmallVector<int64_t> qLead(q.drop_back(2)), kLead(k.drop_back(2));
  SmallVector<int64_t> expectedQ = concatShape(qLead, {heads, headDim});
  SmallVector<int64_t> expectedK = concatShape(kLead, {kvHeads, headDim});
  SmallVector<int64_t> expectedV = concatShape(kLead, {kvHeads, valueDim});
  if (!packed)
    expectedK[0] = expectedV[0] = q[0];
  if (failed(
          check.shape("query", getQuery(), expectedQ, "heads = num_heads")) ||
      failed(check.shape("key", getKey(), expectedK,
                         "batch of the query, kv_heads = num_kv_heads, "
                         "head_dim of the query")) ||
      failed(check.shape("value", getValue(), expectedV,
                         "batch and length of the key, kv_heads = "
                         "num_kv_heads")) ||
      failed(check.shape("output", getOutput(),
                         concatShape(qLead, {heads, valueDim}),
                         "query with the value's head_dim")))
    return failure();
  Type elementType = elementTypeOf(getQuery());
  StringRef names[] = {"key", "value", "output"};
  Value values[] = {getKey(), getValue(), getOutput()};
  for (auto [name, value] : llvm::zip(names, values))
    if (failed(check.elementType(name, value, elementType, "query")))
      return failure();

  // Variable-length layout.
  if (packed && !getCuSeqlens())
    return emitOpError("packed (rank-3) query needs cu_seqlens");
  if (!packed && getCuSeqlens())
    return emitOpError("cu_seqlens needs the packed (rank-3) layout");
  if (packed && (getKCache() || getKeyMask()))
    return emitOpError("packed layout takes neither a KV cache nor a "
                       "key_mask: packing already removed the padding");

  // KV cache.
  bool hasCache = getKCache() || getVCache();
  if (hasCache && !(getKCache() && getVCache()))
    return emitOpError("needs both k_cache and v_cache, or neither");
  if (hasCache != static_cast<bool>(getPositions()))
    return emitOpError("positions and the KV cache go together: a cache "
                       "needs positions and positions need a cache");
  int64_t kvLen = packed ? kDyn : k[1];
  if (hasCache) {
    int64_t capacity = shapeOf(getKCache())[1];
    kvLen = capacity;
    if (failed(check.rank("k_cache", getKCache(), 4,
                          "[batch, capacity, kv_heads, head_dim]")) ||
        failed(check.shape("k_cache", getKCache(),
                           {q[0], kDyn, kvHeads, headDim},
                           "batch of the query, kv_heads, head_dim")) ||
        failed(check.shape("v_cache", getVCache(),
                           {q[0], capacity, kvHeads, valueDim},
                           "k_cache with the value's head_dim")) ||
        failed(check.shape("positions", getPositions(), {q[0]},
                           "one start position per sequence")) ||
        failed(
            check.elementType("k_cache", getKCache(), elementType, "query")) ||
        failed(check.elementType("v_cache", getVCache(), elementType, "query")))
      return failure();
    if (getUpdatedCaches().size() != 2)
      return emitOpError() << "with a KV cache returns the output and the two "
                              "updated caches, got "
                           << getNumResults() << " results";
    if (getUpdatedCaches()[0].getType() != getKCache().getType() ||
        getUpdatedCaches()[1].getType() != getVCache().getType())
      return emitOpError("updated caches must have the caches' types");
  } else if (!getUpdatedCaches().empty()) {
    return emitOpError() << "returns only the output without a KV cache, got "
                         << getNumResults() << " results";
  }

  // Masks.
  MaskKind kind = getMask().getKind();
  if (kind == MaskKind::padding && !getKeyMask())
    return emitOpError("mask <padding> needs a key_mask operand");
  if (failed(check.optionalShape("key_mask", getKeyMask(), {q[0], kvLen},
                                 hasCache ? "[batch, cache capacity]"
                                          : "[batch, kv_len]")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// SelectiveScanOp
//===----------------------------------------------------------------------===//

LogicalResult SelectiveScanOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> x = shapeOf(getX());
  bool packed = x.size() == 2;
  if (x.size() != 3 && !packed)
    return emitOpError() << "x must be [batch, len, channels] or packed "
                            "[tokens, channels], got "
                         << formatShape(x);
  if (failed(check.rank("A", getA(), 2, "[channels, state]")))
    return failure();
  int64_t channels = x.back();
  int64_t state = getStateSize();
  if (ShapedType::isDynamic(state))
    return emitOpError("needs a static state size (dim 1 of A)");
  if (packed != static_cast<bool>(getCuSeqlens()))
    return emitOpError(packed ? "packed (rank-2) x needs cu_seqlens"
                              : "cu_seqlens needs the packed (rank-2) layout");
  SmallVector<int64_t> lead(x.drop_back());
  int64_t batch = packed ? batchFromCuSeqlens(getCuSeqlens()) : x[0];
  SmallVector<int64_t> stateShape{batch, channels, state};
  if (failed(check.shape("dt", getDt(), x, "the shape of x")) ||
      failed(check.shape("A", getA(), {channels, state},
                         "channels of x, state size")) ||
      failed(check.shape("B", getB(), concatShape(lead, state),
                         "x's leading dims, state size")) ||
      failed(check.shape("C", getC(), concatShape(lead, state),
                         "x's leading dims, state size")) ||
      failed(check.optionalShape("D", getD(), {channels}, "channels of x")) ||
      failed(check.optionalShape("z", getZ(), x, "the shape of x")) ||
      failed(check.optionalShape("dt_bias", getDtBias(), {channels},
                                 "channels of x")) ||
      failed(check.optionalShape("initial_state", getInitialState(), stateShape,
                                 "[batch, channels, state]")) ||
      failed(check.shape("y", getY(), x, "the shape of x")) ||
      failed(check.optionalShape("final_state", getFinalState(), stateShape,
                                 "[batch, channels, state]")))
    return failure();
  Type elementType = elementTypeOf(getX());
  StringRef names[] = {"dt", "A", "B", "C", "D", "z", "dt_bias",
                       "initial_state", "y", "final_state"};
  Value values[] = {getDt(), getA(), getB(), getC(), getD(),
                    getZ(), getDtBias(), getInitialState(), getY(),
                    getFinalState()};
  for (auto [name, value] : llvm::zip(names, values))
    if (value && failed(check.elementType(name, value, elementType, "x")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> x = shapeOf(getInput());
  bool packed = x.size() == 2;
  if (x.size() != 3 && !packed)
    return emitOpError() << "input must be [batch, len, channels] or packed "
                            "[tokens, channels], got "
                         << formatShape(x);
  if (failed(check.rank("weight", getWeight(), 2, "[channels, kernel_size]")))
    return failure();
  int64_t kernel = getKernelSize();
  if (ShapedType::isDynamic(kernel) || kernel < 1)
    return emitOpError() << "needs a static kernel size >= 1 (dim 1 of the "
                            "weight), got "
                         << formatShape(shapeOf(getWeight()));
  if (packed != static_cast<bool>(getCuSeqlens()))
    return emitOpError(packed ? "packed (rank-2) input needs cu_seqlens"
                              : "cu_seqlens needs the packed (rank-2) layout");
  int64_t channels = x.back();
  int64_t batch = packed ? batchFromCuSeqlens(getCuSeqlens()) : x[0];
  SmallVector<int64_t> stateShape{batch, channels, kernel - 1};
  if (failed(check.shape("weight", getWeight(), {channels, kernel},
                         "channels of the input")) ||
      failed(check.optionalShape("bias", getBias(), {channels},
                                 "channels of the input")) ||
      failed(check.optionalShape("initial_state", getInitialState(), stateShape,
                                 "[batch, channels, kernel_size - 1]")) ||
      failed(check.shape("result", getResult(), x, "the input's shape")) ||
      failed(check.optionalShape("final_state", getFinalState(), stateShape,
                                 "[batch, channels, kernel_size - 1]")))
    return failure();
  Type elementType = elementTypeOf(getInput());
  // Named arrays: ArrayRefs of braced lists inside the range-for header would
  // dangle (found by fuzz/KilnOptFuzzer.cpp under AddressSanitizer).
  StringRef names[] = {"weight", "bias", "initial_state", "result",
                       "final_state"};
  Value values[] = {getWeight(), getBias(), getInitialState(), getResult(),
                    getFinalState()};
  for (auto [name, value] : llvm::zip(names, values))
    if (value && failed(check.elementType(name, value, elementType, "input")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// PackOp / UnpackOp
//===----------------------------------------------------------------------===//

LogicalResult PackOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in.size() < 2)
    return emitOpError() << "input must be [batch, seq, ...], got "
                         << formatShape(in);
  SmallVector<int64_t> packedShape{kDyn};
  packedShape.append(in.begin() + 2, in.end());
  if (failed(check.shape("lengths", getLengths(), {in[0]},
                         "one length per sequence")) ||
      failed(check.shape("packed result", getPacked(), packedShape,
                         "[tokens] followed by the input's trailing dims")) ||
      failed(check.shape("cu_seqlens", getCuSeqlens(), {addDim(in[0], 1)},
                         "[batch + 1]")) ||
      failed(check.elementType("packed result", getPacked(),
                               elementTypeOf(getInput()), "input")))
    return failure();
  return success();
}

LogicalResult UnpackOp::verify() {
  ShapeVerifier check(*this);
  ArrayRef<int64_t> packed = shapeOf(getPacked());
  if (packed.empty())
    return emitOpError("packed operand must be [tokens, ...], got a scalar "
                       "tensor");
  SmallVector<int64_t> expected{batchFromCuSeqlens(getCuSeqlens()), kDyn};
  expected.append(packed.begin() + 1, packed.end());
  if (failed(check.shape("result", getResult(), expected,
                         "[batch = dim(cu_seqlens) - 1, seq_len] followed by "
                         "the packed operand's trailing dims")) ||
      failed(check.elementType("result", getResult(),
                               elementTypeOf(getPacked()), "packed operand")))
    return failure();
  return success();
}

namespace {

/// True if `size` is dim `dim` of `tensor`: a `tensor.dim` of it, or the
/// constant of a static dim.
bool isDimOf(Value size, Value tensor, int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  APInt constant;
  if (matchPattern(size, m_ConstantInt(&constant)))
    return !type.isDynamicDim(dim) &&
           constant.getSExtValue() == type.getDimSize(dim);
  auto dimOp = size.getDefiningOp<tensor::DimOp>();
  std::optional<int64_t> index =
      dimOp ? dimOp.getConstantIndex() : std::nullopt;
  return index && *index == dim && dimOp.getSource() == tensor;
}

/// pack(unpack(%p, %cu, %s), %lengths) -> (%p, %cu) when %cu is the
/// cu_seqlens of a pack of %lengths over rows of length %s: unpacking put
/// each sequence's tokens where packing on the same side takes them from.
struct PackOfUnpack : public OpRewritePattern<PackOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PackOp op,
                                PatternRewriter &rewriter) const override {
    auto unpack = op.getInput().getDefiningOp<UnpackOp>();
    if (!unpack || unpack.getSide() != op.getSide())
      return rewriter.notifyMatchFailure(op, "not a pack of an unpack");
    auto origin = dyn_cast<OpResult>(unpack.getCuSeqlens());
    auto source = origin ? dyn_cast<PackOp>(origin.getOwner()) : nullptr;
    if (!source || origin.getResultNumber() != 1 ||
        source.getLengths() != op.getLengths() ||
        !isDimOf(unpack.getSeqLen(), source.getInput(), 1))
      return rewriter.notifyMatchFailure(op, "cu_seqlens of other lengths");
    auto cast = [&](Value value, Type type) -> Value {
      if (value.getType() == type)
        return value;
      return tensor::CastOp::create(rewriter, op.getLoc(), type, value);
    };
    rewriter.replaceOp(
        op, {cast(unpack.getPacked(), op.getPacked().getType()),
             cast(source.getCuSeqlens(), op.getCuSeqlens().getType())});
    return success();
  }
};

} // namespace

void PackOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<PackOfUnpack>(context);
}

#define GET_OP_CLASSES
#include "kiln/Dialect/Kiln/IR/KilnOps.cpp.inc"
