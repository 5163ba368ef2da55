//===- Sparsify.cpp - 2:4 and block-sparse projections --------------------===//
//
// Part of Kiln. Implements kiln-sparsify: the decision needs the weights'
// values, so the pass opens the checkpoint and measures each projection
// weight; the compressed tensors themselves are made by kiln-compile when it
// writes the weights file (SparseWeights.h holds both halves).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/SparseWeights.h"
#include "kiln/Target/Safetensors/Checkpoint.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNSPARSIFY
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;
namespace sp = ::kiln::sparse;
namespace st = ::kiln::safetensors;

namespace {

/// Predicted time of a BSR kernel relative to the dense kernel of the same
/// layer: `slope * storedBlockFraction + fixed`. Fitted to bench/sparsity.py
/// (Linear M=1024 x N=3072 x K=768, one thread, CPU time, 2-core AMD EPYC
/// with AVX2; docs/Sparsity.md): 16x16 ran at 0.80 / 0.47 / 0.32 of dense
/// with 50 / 25 / 10% of blocks stored, 4x4 at 0.97 and 1x16 at 1.65 with
/// 25%. `fixed` is the input transpose and output copy. Block shapes not
/// listed are never picked by `auto`.
struct BsrCost {
  int64_t rows, cols;
  double slope, fixed;
};
constexpr BsrCost kBsrCost[] = {
    {16, 16, 1.2, 0.2},
    {4, 4, 3.1, 0.2},
    {1, 16, 5.8, 0.2},
};
/// Predicted time of the 2:4 kernel relative to dense: measured 1.81 on the
/// same layer (its inputs are not shared between output rows, so it is
/// bound by loads), so `auto` never picks it on this CPU.
constexpr double kTwoFourCost = 1.8;
/// `auto` wants a predicted gain of at least this much.
constexpr double kAutoMargin = 0.9;

enum class Mode { off, twoFour, block, automatic };

/// The form chosen for one weight.
struct Decision {
  enum class Form { dense, twoFour, bsr } form = Form::dense;
  int64_t blockRows = 0, blockCols = 0;
  double density = 1.0;
  double blockDensity = -1.0;
  int64_t storedBlocks = 0;
};

/// Measures weights and decides; caches per weight name so that a weight
/// used twice is decided once.
class Analyzer {
public:
  Analyzer(Mode mode, SmallVector<std::pair<int64_t, int64_t>> blocks,
           double minSparsity, const st::Checkpoint &checkpoint)
      : mode(mode), blocks(std::move(blocks)), minSparsity(minSparsity),
        checkpoint(checkpoint) {}

  /// The decision for `param`'s weight, or failure after a located error.
  FailureOr<Decision> decide(ParamOp param) {
    auto it = cache.find(param.getName());
    if (it != cache.end())
      return it->second;
    FailureOr<Decision> decision = measure(param);
    if (failed(decision))
      return failure();
    cache[param.getName()] = *decision;
    Builder b(param.getContext());
    std::string form = "dense";
    if (decision->form == Decision::Form::twoFour)
      form = "2:4";
    else if (decision->form == Decision::Form::bsr)
      form = "bsr" + std::to_string(decision->blockRows) + "x" +
             std::to_string(decision->blockCols);
    records.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("weight", param.getNameAttr()),
         b.getNamedAttr("form", b.getStringAttr(form)),
         b.getNamedAttr("density", b.getF64FloatAttr(decision->density)),
         b.getNamedAttr("block_density",
                        b.getF64FloatAttr(decision->blockDensity))}));
    return *decision;
  }

  /// One dictionary per weight decided, in order.
  ArrayRef<Attribute> getRecords() const { return records; }

private:
  FailureOr<Decision> measure(ParamOp param) {
    const st::TensorInfo *tensor = checkpoint.lookup(param.getName());
    if (!tensor) {
      param.emitOpError() << "kiln-sparsify: weight '" << param.getName()
                          << "' is not in " << checkpoint.getPath();
      return failure();
    }
    auto type = cast<RankedTensorType>(param.getType());
    if (ArrayRef<int64_t>(tensor->shape) != type.getShape()) {
      param.emitOpError() << "kiln-sparsify: weight '" << param.getName()
                          << "' has a different shape in "
                          << checkpoint.getPath();
      return failure();
    }
    llvm::Expected<std::vector<float>> values = sp::readMatrixAsF32(*tensor);
    if (!values) {
      param.emitOpError() << "kiln-sparsify: "
                          << llvm::toString(values.takeError());
      return failure();
    }
    sp::Matrix m{*values, type.getDimSize(0), type.getDimSize(1)};
    Decision decision;
    decision.density = sp::elementDensity(m);

    bool twoFour = (mode == Mode::twoFour || mode == Mode::automatic) &&
                   sp::isTwoFour(m);
    // The best BSR candidate: the lowest predicted time (auto), or the one
    // block shape asked for (block).
    double bestBsr = 2.0, leastStored = -1.0;
    Decision bsr;
    if (mode == Mode::block || mode == Mode::automatic) {
      for (const std::pair<int64_t, int64_t> &shape : blocks) {
        int64_t r = shape.first, c = shape.second;
        if (m.rows % r != 0 || m.cols % c != 0)
          continue;
        int64_t count = sp::countNonzeroBlocks(m, r, c);
        double stored = double(count) / double((m.rows / r) * (m.cols / c));
        if (leastStored < 0 || stored < leastStored)
          leastStored = stored;
        double cost = stored;
        if (mode == Mode::automatic) {
          const BsrCost *model = llvm::find_if(
              kBsrCost, [&](const BsrCost &x) {
                return x.rows == r && x.cols == c;
              });
          if (model == std::end(kBsrCost))
            continue;
          cost = model->slope * stored + model->fixed;
        }
        if (1.0 - stored < minSparsity || cost >= bestBsr)
          continue;
        bestBsr = cost;
        bsr.form = Decision::Form::bsr;
        bsr.blockRows = r;
        bsr.blockCols = c;
        bsr.blockDensity = stored;
        bsr.storedBlocks = count;
      }
    }
    // Reported: the chosen BSR form's block density, else the lowest seen.
    decision.blockDensity =
        bsr.form == Decision::Form::bsr ? bsr.blockDensity : leastStored;
    switch (mode) {
    case Mode::twoFour:
      if (twoFour)
        decision.form = Decision::Form::twoFour;
      break;
    case Mode::block:
      if (bsr.form == Decision::Form::bsr) {
        decision.form = bsr.form;
        decision.blockRows = bsr.blockRows;
        decision.blockCols = bsr.blockCols;
        decision.storedBlocks = bsr.storedBlocks;
      }
      break;
    case Mode::automatic: {
      double twoFourCost = twoFour ? kTwoFourCost : 2.0;
      double best = std::min(twoFourCost, bestBsr);
      if (best > kAutoMargin)
        break;
      if (twoFourCost <= bestBsr) {
        decision.form = Decision::Form::twoFour;
      } else {
        decision.form = bsr.form;
        decision.blockRows = bsr.blockRows;
        decision.blockCols = bsr.blockCols;
        decision.storedBlocks = bsr.storedBlocks;
      }
      break;
    }
    case Mode::off:
      break;
    }
    return decision;
  }

  Mode mode;
  SmallVector<std::pair<int64_t, int64_t>> blocks;
  double minSparsity;
  const st::Checkpoint &checkpoint;
  llvm::StringMap<Decision> cache;
  SmallVector<Attribute> records;
};

/// The plain 2-D f32 param defining `value`, if any. Stacked params
/// (`concat`, from the fusion passes) are left dense.
ParamOp getPlainParam(Value value) {
  auto param = value ? value.getDefiningOp<ParamOp>() : nullptr;
  if (!param || param.getTransposed() || param.getPanels() ||
      param.getEncoding() || param.getConcat() ||
      param.getType().getRank() != 2 ||
      !param.getType().getElementType().isF32())
    return nullptr;
  return param;
}

/// Shared state of the patterns: the analyzer and whether an error was
/// reported (patterns cannot fail the pass themselves).
struct SparsifyState {
  Analyzer &analyzer;
  bool failed = false;

  /// The decision for `value`'s weight; dense for non-params.
  Decision decide(Value value) {
    ParamOp param = getPlainParam(value);
    if (!param)
      return Decision();
    FailureOr<Decision> decision = analyzer.decide(param);
    if (::mlir::failed(decision)) {
      failed = true;
      return Decision();
    }
    return *decision;
  }
};

Value createPart(PatternRewriter &rewriter, ParamOp weight,
                 const sp::Encoding &encoding, ArrayRef<int64_t> shape,
                 Type elementType) {
  return ParamOp::create(
      rewriter, weight.getLoc(), RankedTensorType::get(shape, elementType),
      weight.getNameAttr(), /*transposed=*/nullptr, /*panels=*/nullptr,
      /*quant=*/nullptr, /*part=*/nullptr,
      rewriter.getStringAttr(encoding.str()), /*concat=*/nullptr,
      /*columns=*/nullptr);
}

struct SparsifyLinear : public OpRewritePattern<LinearOp> {
  SparsifyLinear(MLIRContext *context, SparsifyState &state)
      : OpRewritePattern(context), state(state) {}

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    ParamOp weight = getPlainParam(op.getWeight());
    if (op.getLayout() != WeightLayout::out_in || !weight)
      return rewriter.notifyMatchFailure(op, "not an out_in param weight");
    // The sparse forms have no residual operand (kiln-fuse-epilogue runs
    // after this pass in the pipelines).
    if (op.getResidual())
      return rewriter.notifyMatchFailure(op, "has a residual");
    Decision decision = state.decide(weight);
    if (decision.form == Decision::Form::dense)
      return rewriter.notifyMatchFailure(op, "stays dense");
    auto type = cast<RankedTensorType>(weight.getType());
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    Type f32 = rewriter.getF32Type();
    sp::Encoding encoding;
    if (decision.form == Decision::Form::twoFour) {
      encoding.kind = sp::Encoding::Kind::TwoFour;
      Value values = createPart(rewriter, weight, encoding, {rows, cols / 2},
                                f32);
      encoding.part = sp::Encoding::Part::Meta;
      Value meta = createPart(rewriter, weight, encoding, {rows, cols / 8},
                              rewriter.getI8Type());
      rewriter.replaceOpWithNewOp<SemiSparseLinearOp>(
          op, op.getType(), op.getInput(), values, meta, op.getBias());
      return success();
    }
    int64_t r = decision.blockRows, c = decision.blockCols;
    int64_t stored = decision.storedBlocks;
    encoding.blockRows = r;
    encoding.blockCols = c;
    Value values = createPart(rewriter, weight, encoding, {stored, r, c}, f32);
    encoding.part = sp::Encoding::Part::Columns;
    Value columns = createPart(rewriter, weight, encoding, {stored},
                               rewriter.getI32Type());
    encoding.part = sp::Encoding::Part::Offsets;
    Value offsets = createPart(rewriter, weight, encoding, {rows / r + 1},
                               rewriter.getI32Type());
    rewriter.replaceOpWithNewOp<BlockSparseLinearOp>(
        op, op.getType(), op.getInput(), values, columns, offsets,
        op.getBias());
    return success();
  }

  SparsifyState &state;
};

/// Splits a kiln.ffn with a sparse projection into linears (which
/// SparsifyLinear then rewrites), its activation and its gate product.
struct SplitSparseFfn : public OpRewritePattern<FfnOp> {
  SplitSparseFfn(MLIRContext *context, SparsifyState &state)
      : OpRewritePattern(context), state(state) {}

  LogicalResult matchAndRewrite(FfnOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getLayout() != WeightLayout::out_in || op.getStackedGate())
      return rewriter.notifyMatchFailure(op, "not out_in, or stacked");
    bool sparse = false;
    for (Value weight : {op.getUpWeight(), op.getGateWeight(),
                         op.getDownWeight()})
      if (weight)
        sparse |= state.decide(weight).form != Decision::Form::dense;
    if (!sparse)
      return rewriter.notifyMatchFailure(op, "every projection stays dense");
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    SmallVector<int64_t> shape(inType.getShape());
    shape.back() = cast<RankedTensorType>(op.getUpWeight().getType())
                       .getDimSize(0);
    auto hiddenType = RankedTensorType::get(shape, inType.getElementType());
    Value up = LinearOp::create(rewriter, loc, hiddenType, op.getInput(),
                                op.getUpWeight(), op.getUpBias(),
                                /*residual=*/Value(), WeightLayout::out_in);
    Value hidden;
    if (Value gateWeight = op.getGateWeight()) {
      Value gate = LinearOp::create(rewriter, loc, hiddenType, op.getInput(),
                                    gateWeight, op.getGateBias(),
                                    /*residual=*/Value(), WeightLayout::out_in);
      Value act = ActivationOp::create(rewriter, loc, hiddenType,
                                       op.getActivation(), gate);
      hidden = MulOp::create(rewriter, loc, hiddenType, act, up);
    } else {
      hidden = ActivationOp::create(rewriter, loc, hiddenType,
                                    op.getActivation(), up);
    }
    rewriter.replaceOpWithNewOp<LinearOp>(
        op, op.getType(), hidden, op.getDownWeight(), op.getDownBias(),
        op.getResidual(), WeightLayout::out_in);
    return success();
  }

  SparsifyState &state;
};

/// "16x16" -> {16, 16}.
std::optional<std::pair<int64_t, int64_t>> parseBlock(StringRef text) {
  auto [r, c] = text.split('x');
  int64_t rows, cols;
  if (r.getAsInteger(10, rows) || c.getAsInteger(10, cols) || rows < 1 ||
      cols < 1)
    return std::nullopt;
  return std::make_pair(rows, cols);
}

struct KilnSparsifyPass
    : public mlir::kiln::impl::KilnSparsifyBase<KilnSparsifyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<Mode> parsedMode =
        llvm::StringSwitch<std::optional<Mode>>(mode)
            .Case("off", Mode::off)
            .Case("2:4", Mode::twoFour)
            .Case("block", Mode::block)
            .Case("auto", Mode::automatic)
            .Default(std::nullopt);
    if (!parsedMode) {
      module.emitError() << "kiln-sparsify: mode must be auto, 2:4, block or "
                            "off, got '"
                         << StringRef(mode) << "'";
      return signalPassFailure();
    }
    SmallVector<std::pair<int64_t, int64_t>> blocks;
    if (!block.empty()) {
      std::optional<std::pair<int64_t, int64_t>> parsed = parseBlock(block);
      if (!parsed) {
        module.emitError() << "kiln-sparsify: block must be RxC with R, C >= "
                              "1 (such as 16x16), got '"
                           << StringRef(block) << "'";
        return signalPassFailure();
      }
      blocks.push_back(*parsed);
    } else if (*parsedMode == Mode::automatic) {
      for (const BsrCost &cost : kBsrCost)
        blocks.push_back({cost.rows, cost.cols});
    } else {
      blocks.push_back({16, 16});
    }
    if (minSparsity < 0.0 || minSparsity > 1.0) {
      module.emitError() << "kiln-sparsify: min-sparsity must be in [0, 1], "
                            "got "
                         << minSparsity.getValue();
      return signalPassFailure();
    }
    if (*parsedMode == Mode::off)
      return;
    if (weights.empty()) {
      module.emitError() << "kiln-sparsify: mode " << StringRef(mode)
                         << " reads the weights' values; give "
                            "weights=<checkpoint>";
      return signalPassFailure();
    }
    auto checkpoint = st::Checkpoint::open(weights);
    if (!checkpoint) {
      module.emitError() << "kiln-sparsify: "
                         << llvm::toString(checkpoint.takeError());
      return signalPassFailure();
    }

    Analyzer analyzer(*parsedMode, blocks, minSparsity, **checkpoint);
    SparsifyState state{analyzer};
    // Decide in program order first, so that kiln.sparsity lists weights
    // as the model uses them (the rewrite driver visits ops in its own
    // order).
    module.walk([&](Operation *op) {
      if (auto linear = dyn_cast<LinearOp>(op)) {
        if (linear.getLayout() == WeightLayout::out_in)
          state.decide(linear.getWeight());
      } else if (auto ffn = dyn_cast<FfnOp>(op)) {
        if (ffn.getLayout() == WeightLayout::out_in)
          for (Value weight : {ffn.getUpWeight(), ffn.getGateWeight(),
                               ffn.getDownWeight()})
            if (weight)
              state.decide(weight);
      }
    });
    if (state.failed)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<SparsifyLinear, SplitSparseFfn>(&getContext(), state);
    if (failed(applyPatternsGreedily(module, std::move(patterns))) ||
        state.failed)
      return signalPassFailure();
    module->setAttr("kiln.sparsity",
                    ArrayAttr::get(&getContext(), analyzer.getRecords()));
  }
};

} // namespace
