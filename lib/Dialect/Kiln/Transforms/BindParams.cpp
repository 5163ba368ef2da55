//===- BindParams.cpp - Bind kiln.param ops to a weights buffer -----------===//
//
// Part of Kiln. Implements kiln-bind-params: weights are read in place from
// one mmapped buffer, so the plan of that buffer is made here, once, and
// recorded on the module for the writer of the weights file.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/MathExtras.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNBINDPARAMS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// One weight of the planned buffer.
struct PlannedWeight {
  ParamOp firstUse;
  RankedTensorType type;
  int64_t offset = 0;
};

/// The tensor name a param reads in the compiled weights file.
StringAttr storedName(ParamOp param) {
  std::string name = param.getName().str();
  if (std::optional<ArrayAttr> concat = param.getConcat())
    for (StringRef part : concat->getAsValueRange<StringAttr>())
      name += "+" + part.str();
  if (param.getTransposed())
    name += ":T";
  if (QuantAttr quant = param.getQuantAttr())
    name += ":Q" + std::to_string(quant.getBits()) + "g" +
            std::to_string(quant.getGroup()) +
            (quant.getSymmetric() ? "s" : "a") + ":" +
            stringifyQuantPart(*param.getPart()).str();
  if (std::optional<uint64_t> panels = param.getPanels())
    name += ":P" + std::to_string(*panels);
  if (std::optional<StringRef> encoding = param.getEncoding())
    name += ":" + encoding->str();
  return StringAttr::get(param.getContext(), name);
}

/// Bytes of one element of `type` (sub-byte types round up).
int64_t elementBytes(Type type) {
  return llvm::divideCeil(type.getIntOrFloatBitWidth(), 8);
}

struct KilnBindParamsPass
    : public kiln::impl::KilnBindParamsBase<KilnBindParamsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment <= 0 || !llvm::isPowerOf2_64(alignment)) {
      module.emitError() << "kiln-bind-params: alignment must be a positive "
                            "power of two, got "
                         << alignment;
      return signalPassFailure();
    }

    // Plan: distinct names in order of first use.
    llvm::MapVector<StringAttr, PlannedWeight> plan;
    int64_t size = 0;
    WalkResult walk = module.walk([&](ParamOp param) {
      auto type = cast<RankedTensorType>(param.getType());
      auto [it, inserted] = plan.insert({storedName(param), PlannedWeight()});
      if (!inserted) {
        if (it->second.type != type) {
          param.emitOpError()
              << "reads weight '" << param.getName() << "' as " << type
              << ", but another use reads it as " << it->second.type;
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      }
      it->second.firstUse = param;
      it->second.type = type;
      it->second.offset = llvm::alignTo(size, alignment);
      size = it->second.offset +
             type.getNumElements() * elementBytes(type.getElementType());
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    MLIRContext *context = &getContext();
    Builder builder(context);
    SmallVector<Attribute> entries;
    for (auto &[name, weight] : plan) {
      SmallVector<NamedAttribute> quant;
      if (QuantAttr scheme = weight.firstUse.getQuantAttr())
        quant = {builder.getNamedAttr("quant", scheme),
                 builder.getNamedAttr(
                     "part", builder.getStringAttr(stringifyQuantPart(
                                 *weight.firstUse.getPart())))};
      SmallVector<NamedAttribute> fields = {
          builder.getNamedAttr("name", name),
           builder.getNamedAttr("source", weight.firstUse.getNameAttr()),
           builder.getNamedAttr(
               "transposed",
               builder.getBoolAttr(weight.firstUse.getTransposed())),
           builder.getNamedAttr("panels",
                                builder.getI64IntegerAttr(
                                    weight.firstUse.getPanels().value_or(0))),
           builder.getNamedAttr(
               "encoding", builder.getStringAttr(
                               weight.firstUse.getEncoding().value_or(""))),
           builder.getNamedAttr("offset",
                                builder.getI64IntegerAttr(weight.offset)),
           builder.getNamedAttr("type", TypeAttr::get(weight.type))};
      fields.append(quant.begin(), quant.end());
      if (ArrayAttr concat = weight.firstUse.getConcatAttr())
        fields.push_back(builder.getNamedAttr("concat", concat));
      if (IntegerAttr columns = weight.firstUse.getColumnsAttr())
        fields.push_back(builder.getNamedAttr("columns", columns));
      entries.push_back(builder.getDictionaryAttr(fields));
    }
    module->setAttr("kiln.weights", builder.getArrayAttr(entries));

    auto bufferType =
        MemRefType::get({ShapedType::kDynamic}, builder.getI8Type());
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      if (failed(func.insertArgument(
              0, bufferType,
              builder.getDictionaryAttr(
                  builder.getNamedAttr("kiln.weights", builder.getUnitAttr())),
              func.getLoc())))
        return signalPassFailure();
      Value buffer = func.getArgument(0);
      // One view per name and function, at the entry, so that no two
      // `restrict` tensors alias. All views exist before any param is
      // erased: the builder's insertion point may be a param.
      OpBuilder b(func.getContext());
      b.setInsertionPointToStart(&func.front());
      llvm::DenseMap<StringAttr, Value> bound;
      SmallVector<ParamOp> params;
      func.walk([&](ParamOp param) { params.push_back(param); });
      for (ParamOp param : params) {
        Value &tensor = bound[storedName(param)];
        if (tensor)
          continue;
        PlannedWeight weight = plan.lookup(storedName(param));
        Location loc = param.getLoc();
        Value offset = arith::ConstantIndexOp::create(b, loc, weight.offset);
        auto viewType = MemRefType::get(weight.type.getShape(),
                                        weight.type.getElementType());
        Value view = memref::ViewOp::create(b, loc, viewType, buffer, offset,
                                            ValueRange());
        tensor = bufferization::ToTensorOp::create(b, loc, weight.type, view,
                                                   /*restrict=*/true,
                                                   /*writable=*/false);
      }
      for (ParamOp param : params) {
        param.replaceAllUsesWith(bound.lookup(storedName(param)));
        param.erase();
      }
    }

    // Params in functions that are not entry points have no buffer to read.
    WalkResult leftover = module.walk([](ParamOp param) {
      param.emitOpError("is in a private or external function; weights can "
                        "only be read in public functions (entry points)");
      return WalkResult::interrupt();
    });
    if (leftover.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
