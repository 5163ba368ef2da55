//===- EntrySignature.cpp - Signatures and weights plan of a module -------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnAttrs.h"
#include "kiln/Runtime/kiln_model_abi.h"
#include "kiln/Target/ModelLibrary/ModelLibrary.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::kiln;

FailureOr<std::pair<int32_t, int64_t>> mlir::kiln::getAbiDType(Type type) {
  if (type.isF32())
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_F32, 4);
  if (type.isF16())
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_F16, 2);
  if (type.isBF16())
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_BF16, 2);
  if (type.isInteger(1))
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_BOOL, 1);
  if (type.isSignlessInteger(8) || type.isSignedInteger(8))
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_I8, 1);
  if (type.isUnsignedInteger(8))
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_U8, 1);
  if (type.isSignlessInteger(32) || type.isSignedInteger(32))
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_I32, 4);
  if (type.isSignlessInteger(64) || type.isSignedInteger(64))
    return std::make_pair<int32_t, int64_t>(KILN_ABI_DTYPE_I64, 8);
  return failure();
}

StringRef mlir::kiln::getDTypeName(int32_t dtype) {
  switch (dtype) {
  case KILN_ABI_DTYPE_F32:
    return "F32";
  case KILN_ABI_DTYPE_F16:
    return "F16";
  case KILN_ABI_DTYPE_BF16:
    return "BF16";
  case KILN_ABI_DTYPE_I8:
    return "I8";
  case KILN_ABI_DTYPE_I32:
    return "I32";
  case KILN_ABI_DTYPE_I64:
    return "I64";
  case KILN_ABI_DTYPE_U8:
    return "U8";
  case KILN_ABI_DTYPE_BOOL:
    return "BOOL";
  default:
    return "?";
  }
}

namespace {

/// Default name of dynamic dim `index`: transformer inputs are
/// [batch, seq, ...].
std::string defaultDimName(unsigned index) {
  if (index == 0)
    return "batch";
  if (index == 1)
    return "seq";
  return "dim" + std::to_string(index);
}

/// Builds the signature of one argument or result from its type and its
/// `kiln.name` / `kiln.dims` attributes.
FailureOr<TensorSignature> makeTensorSignature(func::FuncOp func, Type type,
                                               DictionaryAttr attrs,
                                               StringRef what,
                                               std::string defaultName) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return func.emitError()
           << "entry point '" << func.getSymName() << "': " << what
           << " must be a ranked tensor, got " << type;
  TensorSignature sig;
  sig.name = std::move(defaultName);
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("kiln.name"))
      sig.name = name.str();
  FailureOr<std::pair<int32_t, int64_t>> dtype =
      getAbiDType(tensorType.getElementType());
  if (failed(dtype))
    return func.emitError()
           << "entry point '" << func.getSymName() << "': " << what << " '"
           << sig.name << "' has unsupported element type "
           << tensorType.getElementType()
           << " (supported: f32, f16, bf16, i1, i8, ui8, "
              "i32, i64)";
  sig.dtype = dtype->first;
  sig.elementBytes = dtype->second;
  ArrayAttr dimNames = attrs ? attrs.getAs<ArrayAttr>("kiln.dims") : nullptr;
  if (dimNames && dimNames.size() != static_cast<size_t>(tensorType.getRank()))
    return func.emitError()
           << "entry point '" << func.getSymName() << "': " << what << " '"
           << sig.name << "' has rank " << tensorType.getRank()
           << " but kiln.dims names " << dimNames.size() << " dims";
  for (auto [index, size] : llvm::enumerate(tensorType.getShape())) {
    bool dynamic = ShapedType::isDynamic(size);
    sig.dims.push_back(dynamic ? -1 : size);
    std::string dimName;
    if (dynamic) {
      auto named = dimNames ? dyn_cast<StringAttr>(dimNames[index]) : nullptr;
      dimName = named && !named.getValue().empty() ? named.str()
                                                   : defaultDimName(index);
    }
    sig.dimNames.push_back(dimName);
  }
  return sig;
}

} // namespace

FailureOr<std::vector<EntrySignature>>
mlir::kiln::collectEntrySignatures(ModuleOp module) {
  std::vector<EntrySignature> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    EntrySignature entry;
    entry.name = func.getSymName().str();
    FunctionType type = func.getFunctionType();
    llvm::StringSet<> names;
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      FailureOr<TensorSignature> sig =
          makeTensorSignature(func, type.getInput(i), func.getArgAttrDict(i),
                              "input", "input" + std::to_string(i));
      if (failed(sig))
        return failure();
      entry.inputs.push_back(std::move(*sig));
    }
    for (unsigned i = 0; i < type.getNumResults(); ++i) {
      FailureOr<TensorSignature> sig = makeTensorSignature(
          func, type.getResult(i), func.getResultAttrDict(i), "output",
          type.getNumResults() == 1 ? "output" : "output" + std::to_string(i));
      if (failed(sig))
        return failure();
      entry.outputs.push_back(std::move(*sig));
    }
    llvm::StringSet<> bound;
    for (const TensorSignature &in : entry.inputs) {
      if (!names.insert(in.name).second)
        return func.emitError()
               << "entry point '" << entry.name << "': two inputs are named '"
               << in.name << "'";
      for (const std::string &dim : in.dimNames)
        if (!dim.empty())
          bound.insert(dim);
    }
    // An output may share its name with an input: it is that input's
    // updated value (a KV cache, a recurrent state), so it must have the
    // input's type and dims.
    llvm::StringSet<> outputNames;
    for (const TensorSignature &out : entry.outputs) {
      if (!outputNames.insert(out.name).second)
        return func.emitError()
               << "entry point '" << entry.name << "': two outputs are named '"
               << out.name << "'";
      auto in = llvm::find_if(
          entry.inputs,
          [&](const TensorSignature &sig) { return sig.name == out.name; });
      if (in != entry.inputs.end() &&
          (in->dtype != out.dtype || in->dims != out.dims ||
           in->dimNames != out.dimNames))
        return func.emitError()
               << "entry point '" << entry.name << "': output '" << out.name
               << "' is named like an input but differs from it in dtype, "
                  "shape or dim names (only an input's updated value may "
                  "share its name)";
      for (auto [index, dim] : llvm::enumerate(out.dimNames))
        if (!dim.empty() && !bound.contains(dim))
          return func.emitError()
                 << "entry point '" << entry.name << "': output '" << out.name
                 << "' dim " << index << " is dynamic and named '" << dim
                 << "', but no input has a dim of that name; name the dims "
                    "with a kiln.dims attribute";
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty())
    return module.emitError("the module has no public function to compile");
  return entries;
}

FailureOr<std::vector<PlannedWeight>>
mlir::kiln::readWeightsPlan(ModuleOp module) {
  std::vector<PlannedWeight> plan;
  auto entries = module->getAttrOfType<ArrayAttr>("kiln.weights");
  if (!entries)
    return plan;
  for (Attribute entry : entries) {
    auto dict = dyn_cast<DictionaryAttr>(entry);
    auto name = dict ? dict.getAs<StringAttr>("name") : nullptr;
    auto offset = dict ? dict.getAs<IntegerAttr>("offset") : nullptr;
    auto typeAttr = dict ? dict.getAs<TypeAttr>("type") : nullptr;
    auto source = dict ? dict.getAs<StringAttr>("source") : nullptr;
    auto transposed = dict ? dict.getAs<BoolAttr>("transposed") : nullptr;
    auto panels = dict ? dict.getAs<IntegerAttr>("panels") : nullptr;
    auto type =
        typeAttr ? dyn_cast<RankedTensorType>(typeAttr.getValue()) : nullptr;
    if (!name || !offset || !type || !source || !transposed || !panels)
      return module.emitError("malformed kiln.weights entry ") << entry;
    FailureOr<std::pair<int32_t, int64_t>> dtype =
        getAbiDType(type.getElementType());
    if (failed(dtype))
      return module.emitError()
             << "weight '" << name.getValue()
             << "' has unsupported element type " << type.getElementType();
    PlannedWeight weight;
    weight.name = name.str();
    weight.source = source.str();
    weight.transposed = transposed.getValue();
    weight.panels = panels.getInt();
    if (auto columns = dict.getAs<IntegerAttr>("columns"))
      weight.columns = columns.getInt();
    if (auto encoding = dict.getAs<StringAttr>("encoding"))
      weight.encoding = encoding.str();
    if (Attribute concat = dict.get("concat")) {
      auto names = dyn_cast<ArrayAttr>(concat);
      if (!names || !llvm::all_of(names, llvm::IsaPred<StringAttr>))
        return module.emitError("malformed kiln.weights entry ") << entry;
      for (StringRef part : names.getAsValueRange<StringAttr>())
        weight.concat.push_back(part.str());
    }
    weight.dtype = dtype->first;
    weight.shape.assign(type.getShape().begin(), type.getShape().end());
    weight.offset = offset.getInt();
    weight.nbytes = type.getNumElements() * dtype->second;
    if (auto quant = dict.getAs<QuantAttr>("quant")) {
      auto part = dict.getAs<StringAttr>("part");
      if (!part)
        return module.emitError("malformed kiln.weights entry ") << entry;
      weight.quantBits = quant.getBits();
      weight.quantGroup = quant.getGroup();
      weight.quantSymmetric = quant.getSymmetric();
      weight.quantPart = part.str();
    }
    plan.push_back(std::move(weight));
  }
  return plan;
}
