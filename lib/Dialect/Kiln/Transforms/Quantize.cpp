//===- Quantize.cpp - Weight-only int8/int4 quantization ------------------===//
//
// Part of Kiln. Implements kiln-quantize: projections read their weights as
// quantized params plus a kiln.dequantize; the numbers themselves are
// computed by kiln-compile from the checkpoint (see QuantAttr).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/GlobPattern.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNQUANTIZE
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// What the pass was asked for, checked once.
struct QuantizeConfig {
  int64_t bits = 8;
  int64_t group = 0; ///< 0: one group per output channel
  bool symmetric = true;
  std::vector<llvm::GlobPattern> skip;

  /// The scheme for a weight with `k` input features.
  QuantAttr schemeFor(MLIRContext *context, int64_t k) const {
    return QuantAttr::get(context, bits, group ? group : k, symmetric);
  }
};

/// The f32 [K, N] param a projection with `layout <in_out>` reads as its
/// weight, if kiln-quantize should quantize it.
ParamOp getQuantizableWeight(Value weight, const QuantizeConfig &config) {
  auto param = weight ? weight.getDefiningOp<ParamOp>() : nullptr;
  if (!param || param.getQuant() || param.getPanels() ||
      param.getType().getRank() != 2 ||
      !param.getType().getElementType().isF32())
    return nullptr;
  // A stack is kept f32 when any of its weights is to be kept.
  for (StringRef name : param.getSourceNames())
    for (const llvm::GlobPattern &pattern : config.skip)
      if (pattern.match(name))
        return nullptr;
  return param;
}

/// One part of the quantized form of `param`.
Value createPart(PatternRewriter &rewriter, ParamOp param, QuantAttr quant,
                 QuantPart part, ArrayRef<int64_t> shape, Type element) {
  return ParamOp::create(
      rewriter, param.getLoc(), RankedTensorType::get(shape, element),
      param.getNameAttr(), param.getTransposedAttr(), /*panels=*/nullptr, quant,
      QuantPartAttr::get(rewriter.getContext(), part),
      /*encoding=*/nullptr, param.getConcatAttr(), /*columns=*/nullptr);
}

/// `kiln.dequantize` of the quantized params of `param`.
Value createDequantized(PatternRewriter &rewriter, ParamOp param,
                        const QuantizeConfig &config) {
  ArrayRef<int64_t> shape = param.getType().getShape();
  int64_t k = shape[0], n = shape[1];
  QuantAttr quant = config.schemeFor(rewriter.getContext(), k);
  Value values = createPart(rewriter, param, quant, QuantPart::values,
                            {k / quant.getValuesPerByte(), n},
                            rewriter.getI8Type());
  SmallVector<int64_t> groupShape = {k / quant.getGroup(), n};
  Value scales = createPart(rewriter, param, quant, QuantPart::scales,
                            groupShape, rewriter.getF32Type());
  Value zeros;
  if (!config.symmetric)
    zeros = createPart(rewriter, param, quant, QuantPart::zero_points,
                       groupShape, rewriter.getF32Type());
  return DequantizeOp::create(rewriter, param.getLoc(), param.getType(),
                              values, scales, zeros, quant);
}

struct QuantizeLinear : public OpRewritePattern<LinearOp> {
  QuantizeLinear(MLIRContext *context, const QuantizeConfig &config)
      : OpRewritePattern(context), config(config) {}

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    ParamOp weight = getQuantizableWeight(op.getWeight(), config);
    if (op.getLayout() != WeightLayout::in_out || !weight)
      return rewriter.notifyMatchFailure(op, "no in_out f32 param weight");
    Value dequantized = createDequantized(rewriter, weight, config);
    rewriter.modifyOpInPlace(
        op, [&] { op.getWeightMutable().assign(dequantized); });
    return success();
  }

  const QuantizeConfig &config;
};

struct QuantizeFfn : public OpRewritePattern<FfnOp> {
  QuantizeFfn(MLIRContext *context, const QuantizeConfig &config)
      : OpRewritePattern(context), config(config) {}

  LogicalResult matchAndRewrite(FfnOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getLayout() != WeightLayout::in_out)
      return rewriter.notifyMatchFailure(op, "weights not in_out");
    SmallVector<OpOperand *> operands = {&op.getUpWeightMutable(),
                                         &op.getDownWeightMutable()};
    if (op.getGateWeight())
      operands.push_back(&op.getGateWeightMutable()[0]);
    bool changed = false;
    for (OpOperand *operand : operands) {
      ParamOp weight = getQuantizableWeight(operand->get(), config);
      if (!weight)
        continue;
      Value dequantized = createDequantized(rewriter, weight, config);
      rewriter.modifyOpInPlace(op, [&] { operand->set(dequantized); });
      changed = true;
    }
    return success(changed);
  }

  const QuantizeConfig &config;
};

struct KilnQuantizePass
    : public kiln::impl::KilnQuantizeBase<KilnQuantizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    QuantizeConfig config;
    if (weights == "int8") {
      config.bits = 8;
    } else if (weights == "int4") {
      config.bits = 4;
      config.group = 128;
    } else {
      func.emitError() << "kiln-quantize: weights must be int8 or int4, got '"
                       << weights << "'";
      return signalPassFailure();
    }
    if (group < 0 || (group > 0 && config.bits == 4 && group % 2 != 0)) {
      func.emitError() << "kiln-quantize: group must be "
                       << (config.bits == 4 ? "a positive even number"
                                            : "positive")
                       << " (or 0 for the default), got "
                       << static_cast<int64_t>(group);
      return signalPassFailure();
    }
    if (group > 0)
      config.group = group;
    config.symmetric = symmetric;
    for (const std::string &text : skip) {
      llvm::Expected<llvm::GlobPattern> pattern =
          llvm::GlobPattern::create(text);
      if (!pattern) {
        func.emitError() << "kiln-quantize: bad skip pattern '" << text
                         << "': " << llvm::toString(pattern.takeError());
        return signalPassFailure();
      }
      config.skip.push_back(std::move(*pattern));
    }

    // Groups must tile K: check every weight the patterns would touch.
    auto checkWeight = [&](Operation *op, Value weight) -> LogicalResult {
      ParamOp param = getQuantizableWeight(weight, config);
      if (!param || !config.group)
        return success();
      int64_t k = param.getType().getDimSize(0);
      if (k % config.group == 0)
        return success();
      return op->emitError()
             << "kiln-quantize: group " << config.group
             << " does not divide the " << k << " input features of weight '"
             << param.getName() << "'";
    };
    WalkResult walk = func.walk([&](Operation *op) {
      SmallVector<Value> weights;
      if (auto linear = dyn_cast<LinearOp>(op);
          linear && linear.getLayout() == WeightLayout::in_out)
        weights = {linear.getWeight()};
      else if (auto ffn = dyn_cast<FfnOp>(op);
               ffn && ffn.getLayout() == WeightLayout::in_out)
        weights = {ffn.getUpWeight(), ffn.getDownWeight(),
                   ffn.getGateWeight()};
      for (Value weight : weights)
        if (failed(checkWeight(op, weight)))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    patterns.add<QuantizeLinear, QuantizeFfn>(&getContext(), config);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
