//===- RemovePadding.cpp - Run token-wise work on real tokens only --------===//
//
// Part of Kiln. Implements kiln-remove-padding. An analysis decides whether
// a function can run on packed tokens and which operands of which ops carry
// tokens. The rewrite then computes lengths and the padding side from the
// mask at entry, packs every padded value entering a token op and views it
// padded again through a `kiln.unpack`, and patterns sink those unpacks
// through the token ops until only the returned values are unpacked.
//
// Inside the function the unpacked views are right-padded whatever the
// input's side: every op the patterns rewrite treats sequences the same
// wherever their rows sit, and the side matters only where padded data
// enters (each row's real tokens are rotated to its front, then packed) or
// leaves (unpacked on the input's side, picked at run time with `scf.if`).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNREMOVEPADDING
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

//===----------------------------------------------------------------------===//
// Analysis
//===----------------------------------------------------------------------===//

/// What the analysis decided and what the rewrite shares with its patterns.
struct PackingPlan {
  /// The argument whose zeros mark padding, `[batch, seq]`.
  BlockArgument mask;
  /// The ops to run packed, each with the indices of its token operands.
  DenseMap<Operation *, SmallVector<unsigned, 4>> ops;
  /// Padded values entering token ops from outside: arguments, and values
  /// computed from positions. Each is packed once.
  llvm::SetVector<Value> boundaries;
  /// True if some op mixes tokens causally (causal attention, conv, scan).
  bool causal = false;

  /// Built at entry: the lengths (i32 [batch]), the side (i1, true for
  /// right padding), the padded length and cu_seqlens (i32 [batch + 1]).
  Value lengths, rightPadded, seqLen, cuSeqlens;
};

/// The name of dim `index` of argument `argIndex` as the compiled entry
/// names it: `kiln.dims`, else batch/seq for dynamic dims 0/1.
std::string dimName(func::FuncOp func, unsigned argIndex, unsigned index) {
  auto type = cast<RankedTensorType>(func.getArgument(argIndex).getType());
  if (auto dims = func.getArgAttrOfType<ArrayAttr>(argIndex, "kiln.dims"))
    if (index < dims.size())
      if (auto name = dyn_cast<StringAttr>(dims[index]))
        return name.str();
  if (!type.isDynamicDim(index))
    return "";
  return index == 0 ? "batch" : index == 1 ? "seq" : "";
}

/// True if argument `argIndex` is `[batch, seq, ...]` like the mask.
bool hasMaskLeadingDims(func::FuncOp func, unsigned argIndex,
                        unsigned maskIndex) {
  auto type = dyn_cast<RankedTensorType>(func.getArgument(argIndex).getType());
  auto maskType = cast<RankedTensorType>(func.getArgument(maskIndex).getType());
  if (!type || type.getRank() < 2)
    return false;
  for (unsigned d = 0; d < 2; ++d) {
    if (type.getDimSize(d) != maskType.getDimSize(d))
      return false;
    if (type.isDynamicDim(d) &&
        (dimName(func, argIndex, d).empty() ||
         dimName(func, argIndex, d) != dimName(func, maskIndex, d)))
      return false;
  }
  return true;
}

int64_t rankOf(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type ? type.getRank() : -1;
}

/// The operand indices of `op`'s ODS operand group `group`.
template <typename OpTy>
void appendGroup(OpTy op, unsigned group, SmallVectorImpl<unsigned> &indices) {
  auto [start, length] = op.getODSOperandIndexAndLength(group);
  for (unsigned i = 0; i < length; ++i)
    indices.push_back(start + i);
}

/// True if `size` is provably dim `dim` (batch or seq) of `source`: a
/// constant equal to its static size, or that dim of it or of any token
/// value (they all share batch and seq).
bool isWholeDim(OpFoldResult size, Value source, int64_t dim,
                const DenseSet<Value> &tokenValues) {
  auto type = cast<RankedTensorType>(source.getType());
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return !type.isDynamicDim(dim) && *constant == type.getDimSize(dim);
  auto dimOp =
      dyn_cast_or_null<tensor::DimOp>(cast<Value>(size).getDefiningOp());
  if (!dimOp ||
      (dimOp.getSource() != source && !tokenValues.contains(dimOp.getSource())))
    return false;
  std::optional<int64_t> index = dimOp.getConstantIndex();
  return index && *index == dim;
}

/// True if `map` reads dims 0 and 1 of the loops as its first two results
/// and nowhere else.
bool isTokenMap(AffineMap map) {
  if (map.getNumResults() < 2 ||
      map.getResult(0) != getAffineDimExpr(0, map.getContext()) ||
      map.getResult(1) != getAffineDimExpr(1, map.getContext()))
    return false;
  for (AffineExpr expr : map.getResults().drop_front(2))
    if (expr.isFunctionOfDim(0) || expr.isFunctionOfDim(1))
      return false;
  return true;
}

/// True if `map` reads neither loop 0 nor loop 1 (a broadcast operand).
bool isBroadcastMap(AffineMap map) {
  return llvm::none_of(map.getResults(), [](AffineExpr expr) {
    return expr.isFunctionOfDim(0) || expr.isFunctionOfDim(1);
  });
}

/// Decides how `op` runs on packed tokens: fills `tokens` with the indices
/// of its token operands, or returns a reason why it cannot.
std::optional<std::string> classify(Operation *op, Value mask,
                                    const DenseSet<Value> &tokenValues,
                                    SmallVectorImpl<unsigned> &tokens,
                                    bool &causal) {
  auto needRank = [&](Value value, int64_t rank) -> std::optional<std::string> {
    if (rankOf(value) < rank)
      return "its token operand has rank " + std::to_string(rankOf(value)) +
             " (below " + std::to_string(rank) + ")";
    return std::nullopt;
  };
  return llvm::TypeSwitch<Operation *, std::optional<std::string>>(op)
      .Case([&](EmbeddingOp embedding) -> std::optional<std::string> {
        tokens.push_back(1);
        return needRank(embedding.getIds(), 2);
      })
      .Case<LinearOp, FfnOp>(
          [&](auto projection) -> std::optional<std::string> {
            tokens.push_back(0);
            if (projection.getResidual())
              tokens.push_back(
                  projection.getResidualMutable()[0].getOperandNumber());
            return needRank(projection.getInput(), 3);
          })
      .Case<LayerNormOp, RmsNormOp, SplitHeadsOp>(
          [&](Operation *tokenWise) -> std::optional<std::string> {
            tokens.push_back(0);
            return needRank(tokenWise->getOperand(0), 3);
          })
      .Case([&](MergeHeadsOp merge) -> std::optional<std::string> {
        tokens.push_back(0);
        return needRank(merge.getInput(), 4);
      })
      .Case([&](ActivationOp activation) -> std::optional<std::string> {
        tokens.push_back(0);
        return needRank(activation.getInput(), 2);
      })
      .Case<AddOp, MulOp>([&](Operation *binary) -> std::optional<std::string> {
        tokens.append({0, 1});
        return needRank(binary->getOperand(0), 2);
      })
      .Case([&](RopeOp rope) -> std::optional<std::string> {
        tokens.append({0, 1});
        if (rankOf(rope.getInput()) != 4 || rankOf(rope.getPositions()) != 2)
          return std::string("it is not in the padded layout");
        return std::nullopt;
      })
      .Case([&](AttentionOp attention) -> std::optional<std::string> {
        if (attention.isPacked())
          return std::string("it is already packed");
        if (attention.getKCache())
          return std::string("it reads a KV cache");
        MaskKind kind = attention.getMask().getKind();
        if (kind == MaskKind::block_sparse)
          return std::string("block-sparse masks depend on absolute "
                             "positions");
        if (Value keyMask = attention.getKeyMask()) {
          if (keyMask != mask)
            return std::string("its key_mask is not the padding mask");
        } else if (!attention.getMask().isCausal()) {
          return std::string("it is bidirectional without a key_mask, so "
                             "its tokens see the padding");
        }
        causal |= attention.getMask().isCausal();
        tokens.append({0, 1, 2});
        return std::nullopt;
      })
      .Case([&](SelectiveScanOp scan) -> std::optional<std::string> {
        if (scan.isPacked())
          return std::string("it is already packed");
        if (scan.getInitialState() ||
            (scan.getFinalState() && !scan.getFinalState().use_empty()))
          return std::string("it carries a recurrent state");
        causal = true;
        for (unsigned group : {0u, 1u, 3u, 4u, 6u})
          appendGroup(scan, group, tokens);
        return std::nullopt;
      })
      .Case([&](CausalConv1dOp conv) -> std::optional<std::string> {
        if (conv.isPacked())
          return std::string("it is already packed");
        if (conv.getInitialState() ||
            (conv.getFinalState() && !conv.getFinalState().use_empty()))
          return std::string("it carries a convolution state");
        causal = true;
        tokens.push_back(0);
        return std::nullopt;
      })
      .Case([&](tensor::ExtractSliceOp slice) -> std::optional<std::string> {
        tokens.push_back(0);
        Value source = slice.getSource();
        if (rankOf(source) < 3 ||
            slice.getResultType().getRank() != rankOf(source))
          return std::string("it is not a slice of the feature dims");
        SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
        SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
        SmallVector<OpFoldResult> strides = slice.getMixedStrides();
        for (int64_t d = 0; d < 2; ++d)
          if (!isConstantIntValue(offsets[d], 0) ||
              !isConstantIntValue(strides[d], 1) ||
              !isWholeDim(sizes[d], source, d, tokenValues))
            return std::string("it slices the batch or sequence dims");
        return std::nullopt;
      })
      .Case([&](linalg::GenericOp generic) -> std::optional<std::string> {
        if (!generic.hasPureTensorSemantics() || generic.getNumLoops() < 3 ||
            generic.getIteratorTypesArray()[0] !=
                utils::IteratorType::parallel ||
            generic.getIteratorTypesArray()[1] != utils::IteratorType::parallel)
          return std::string("it is not parallel over batch and sequence");
        bool usesPosition = false;
        generic.getBody()->walk(
            [&](linalg::IndexOp index) { usesPosition |= index.getDim() < 2; });
        if (usesPosition)
          return std::string("it reads the batch or sequence index");
        bool hasTokenInput = false;
        for (OpOperand &operand : generic->getOpOperands()) {
          AffineMap map = generic.getMatchingIndexingMap(&operand);
          bool isInit = generic.isDpsInit(&operand);
          if (isTokenMap(map)) {
            // A fresh init is rebuilt packed rather than packed.
            if (isInit && operand.get().getDefiningOp<tensor::EmptyOp>())
              continue;
            tokens.push_back(operand.getOperandNumber());
            hasTokenInput |= !isInit;
            continue;
          }
          if (isInit || !isBroadcastMap(map) ||
              tokenValues.contains(operand.get()))
            return std::string("operand #") +
                   std::to_string(operand.getOperandNumber()) +
                   " is not indexed as [batch, seq, ...] or broadcast";
        }
        if (!hasTokenInput)
          return std::string("it has no [batch, seq, ...] input");
        return std::nullopt;
      })
      .Default([](Operation *) -> std::optional<std::string> {
        return std::string("the pass does not know how to run it packed");
      });
}

/// Fills `plan` for `func` or returns the op that prevents packing, with
/// the reason.
std::optional<std::pair<Operation *, std::string>>
analyze(func::FuncOp func, unsigned maskIndex, PackingPlan &plan) {
  plan.mask = func.getArgument(maskIndex);
  DenseSet<Value> tokenValues;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (hasMaskLeadingDims(func, i, maskIndex))
      tokenValues.insert(func.getArgument(i));

  for (Operation &op : func.getBody().front()) {
    if (isa<func::ReturnOp, tensor::DimOp>(op) ||
        llvm::none_of(op.getOperands(), [&](Value operand) {
          return tokenValues.contains(operand);
        }))
      continue;
    SmallVector<unsigned, 4> tokens;
    if (std::optional<std::string> why =
            classify(&op, plan.mask, tokenValues, tokens, plan.causal))
      return std::make_pair(&op, *why);
    for (OpOperand &operand : op.getOpOperands()) {
      bool isToken = llvm::is_contained(tokens, operand.getOperandNumber());
      bool isKeyMask = isa<AttentionOp>(op) &&
                       operand.get() == cast<AttentionOp>(op).getKeyMask();
      // Arguments and values from outside the token ops enter packed.
      if (isToken && (!tokenValues.contains(operand.get()) ||
                      isa<BlockArgument>(operand.get())))
        plan.boundaries.insert(operand.get());
      else if (!isToken && !isKeyMask && tokenValues.contains(operand.get()))
        return std::make_pair(
            &op, "operand #" + std::to_string(operand.getOperandNumber()) +
                     " takes tokens where the op expects none");
    }
    for (OpResult result : op.getResults())
      if (!isa<SelectiveScanOp, CausalConv1dOp>(op) ||
          result.getResultNumber() == 0)
        tokenValues.insert(result);
    plan.ops.try_emplace(&op, std::move(tokens));
  }

  // Token-wise ops computing a boundary from values outside the tokens
  // (position embeddings of position ids, say) run packed too: packing
  // their inputs is cheaper than packing their result.
  for (bool changed = true; changed;) {
    changed = false;
    for (Value boundary : plan.boundaries.takeVector()) {
      Operation *def = boundary.getDefiningOp();
      SmallVector<unsigned, 4> tokens;
      bool dummy = false;
      bool absorb =
          def && def->getBlock() == &func.getBody().front() &&
          !isa<AttentionOp, SelectiveScanOp, CausalConv1dOp>(def) &&
          llvm::all_of(def->getUses(),
                       [&](OpOperand &use) {
                         Operation *user = use.getOwner();
                         auto planned = plan.ops.find(user);
                         return isa<func::ReturnOp, tensor::DimOp>(user) ||
                                (planned != plan.ops.end() &&
                                 llvm::is_contained(planned->second,
                                                    use.getOperandNumber()));
                       }) &&
          !classify(def, plan.mask, tokenValues, tokens, dummy);
      if (!absorb) {
        plan.boundaries.insert(boundary);
        continue;
      }
      for (unsigned index : tokens)
        if (!tokenValues.contains(def->getOperand(index)) ||
            isa<BlockArgument>(def->getOperand(index)))
          plan.boundaries.insert(def->getOperand(index));
      for (OpResult result : def->getResults())
        tokenValues.insert(result);
      plan.ops.try_emplace(def, std::move(tokens));
      changed = true;
    }
  }

  // Every other use of a token value (in a region, say) would see the
  // packed function's data; only shape queries and the return may remain.
  for (Value value : tokenValues)
    for (Operation *user : value.getUsers())
      if (!plan.ops.count(user) && !isa<func::ReturnOp, tensor::DimOp>(user))
        return std::make_pair(user, std::string("it uses a token tensor the "
                                                "pass cannot pack"));
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Entry and exit
//===----------------------------------------------------------------------===//

/// `type` with its leading [batch, seq] replaced by one dynamic token dim.
RankedTensorType packedType(Type type) {
  auto tensorType = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape{kDyn};
  llvm::append_range(shape, tensorType.getShape().drop_front(2));
  return RankedTensorType::get(shape, tensorType.getElementType());
}

/// `[batch, seq, ...]` with both leading dims dynamic, as kiln.unpack
/// returns it.
RankedTensorType unpackedType(Type packed) {
  auto tensorType = cast<RankedTensorType>(packed);
  SmallVector<int64_t> shape{kDyn, kDyn};
  llvm::append_range(shape, tensorType.getShape().drop_front());
  return RankedTensorType::get(shape, tensorType.getElementType());
}

Value castTo(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(b, loc, type, value);
}

/// A tensor of `sizes` filled with the scalar `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             Value value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, value.getType());
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

/// Builds, at the insertion point: the lengths of the sequences, whether
/// they are left-padded, and the run-time check that each row of the mask
/// is one run of real tokens at the side all rows share.
void buildLengthsAndSide(OpBuilder &b, Location loc, PackingPlan &plan,
                         StringRef maskName) {
  MLIRContext *ctx = b.getContext();
  Value mask = plan.mask;
  Type i1 = b.getI1Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
  auto constInt = [&](Type type, int64_t value) -> Value {
    return arith::ConstantOp::create(b, loc, IntegerAttr::get(type, value));
  };
  Value batch = tensor::DimOp::create(b, loc, mask, 0);
  Value seqLen = tensor::DimOp::create(b, loc, mask, 1);
  Value lastPosition = arith::SubIOp::create(
      b, loc, arith::IndexCastOp::create(b, loc, i64, seqLen),
      constInt(i64, 1));

  // Per row: the number of real tokens and the first and last real
  // position (seq and -1 for an empty row).
  AffineExpr d0 = getAffineDimExpr(0, ctx);
  AffineMap rowMap = AffineMap::get(2, 0, d0);
  SmallVector<OpFoldResult> rows{batch};
  Value first =
      filled(b, loc, rows,
             arith::AddIOp::create(b, loc, lastPosition, constInt(i64, 1)));
  auto stats = linalg::GenericOp::create(
      b, loc,
      TypeRange{RankedTensorType::get({kDyn}, i32), first.getType(),
                first.getType()},
      ValueRange{mask},
      ValueRange{filled(b, loc, rows, constInt(i32, 0)), first,
                 filled(b, loc, rows, constInt(i64, -1))},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(2), rowMap, rowMap, rowMap},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value real = arith::CmpIOp::create(
            nb, l, arith::CmpIPredicate::ne, args[0],
            arith::ConstantOp::create(nb, l,
                                      IntegerAttr::get(args[0].getType(), 0)));
        Value position = arith::IndexCastOp::create(
            nb, l, i64, linalg::IndexOp::create(nb, l, 1));
        Value count = arith::AddIOp::create(
            nb, l, args[1],
            arith::ConstantOp::create(nb, l, IntegerAttr::get(i32, 1)));
        SmallVector<Value> next{
            arith::SelectOp::create(nb, l, real, count, args[1]),
            arith::SelectOp::create(
                nb, l, real, arith::MinSIOp::create(nb, l, args[2], position),
                args[2]),
            arith::SelectOp::create(
                nb, l, real, arith::MaxSIOp::create(nb, l, args[3], position),
                args[3])};
        linalg::YieldOp::create(nb, l, next);
      });
  Value lengths = stats.getResult(0);

  // Over rows: are all right-padded, are all left-padded? Empty and full
  // rows are both.
  auto scalar = RankedTensorType::get({}, i1);
  Value yes = filled(b, loc, {}, constInt(i1, 1));
  AffineMap all = AffineMap::get(1, 0, d0);
  AffineMap none = AffineMap::get(1, 0, ArrayRef<AffineExpr>{}, ctx);
  auto sides = linalg::GenericOp::create(
      b, loc, TypeRange{scalar, scalar}, stats.getResults(),
      ValueRange{yes, yes}, ArrayRef<AffineMap>{all, all, all, none, none},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        auto cmp = [&](arith::CmpIPredicate pred, Value lhs, Value rhs) {
          return arith::CmpIOp::create(nb, l, pred, lhs, rhs).getResult();
        };
        auto i64Const = [&](int64_t value) -> Value {
          return arith::ConstantOp::create(nb, l, IntegerAttr::get(i64, value));
        };
        Value length = arith::ExtSIOp::create(nb, l, i64, args[0]);
        Value span = arith::AddIOp::create(
            nb, l, arith::SubIOp::create(nb, l, args[2], args[1]), i64Const(1));
        Value empty = cmp(arith::CmpIPredicate::eq, length, i64Const(0));
        Value contiguous = cmp(arith::CmpIPredicate::eq, span, length);
        auto orEmpty = [&](Value atEdge) -> Value {
          return arith::OrIOp::create(
              nb, l, empty, arith::AndIOp::create(nb, l, contiguous, atEdge));
        };
        Value right =
            orEmpty(cmp(arith::CmpIPredicate::eq, args[1], i64Const(0)));
        Value left =
            orEmpty(cmp(arith::CmpIPredicate::eq, args[2], lastPosition));
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::AndIOp::create(nb, l, args[3], right),
                       arith::AndIOp::create(nb, l, args[4], left)});
      });
  Value allRight =
      tensor::ExtractOp::create(b, loc, sides.getResult(0), ValueRange{});
  Value allLeft =
      tensor::ExtractOp::create(b, loc, sides.getResult(1), ValueRange{});
  cf::AssertOp::create(
      b, loc, arith::OrIOp::create(b, loc, allRight, allLeft),
      "kiln-remove-padding: every row of '" + maskName.str() +
          "' must be right-padded (1 ... 1 0 ... 0), or every row "
          "left-padded (0 ... 0 1 ... 1); this model was compiled with "
          "padding removal (kiln-compile --no-remove-padding accepts other "
          "masks)");
  plan.lengths = lengths;
  plan.seqLen = seqLen;
  plan.rightPadded = allRight;
}

/// `value` ([batch, seq, ...]) with the real rows of each sequence moved to
/// its front: rotated by `seq - length` when the batch is left-padded, as is
/// otherwise. Packing then always takes the right-padded layout, so that the
/// token count comes from one `kiln.pack` (shape analyses of the packed
/// values stop there instead of comparing two branches of an `scf.if`);
/// the inputs rotated are ids, masks and positions in practice, cheap to
/// copy.
Value rollToFront(OpBuilder &b, Location loc, Value value,
                  const PackingPlan &plan) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, value, d));
  auto generate = tensor::GenerateOp::create(
      b, loc, type, dynamicSizes,
      [&](OpBuilder &nb, Location l, ValueRange indices) {
        Value length = arith::IndexCastOp::create(
            nb, l, nb.getIndexType(),
            tensor::ExtractOp::create(nb, l, plan.lengths, indices[0]));
        Value shift = arith::SelectOp::create(
            nb, l, plan.rightPadded, arith::ConstantIndexOp::create(nb, l, 0),
            arith::SubIOp::create(nb, l, plan.seqLen, length));
        SmallVector<Value> source(indices);
        source[1] = arith::RemUIOp::create(
            nb, l, arith::AddIOp::create(nb, l, indices[1], shift),
            plan.seqLen);
        tensor::YieldOp::create(
            nb, l, tensor::ExtractOp::create(nb, l, value, source).getResult());
      });
  return generate.getResult();
}

/// Packs `value` ([batch, seq, ...]) whatever side the batch is padded on.
/// Returns the packed tensor and its cu_seqlens.
std::pair<Value, Value> packAnySide(OpBuilder &b, Location loc, Value value,
                                    const PackingPlan &plan) {
  auto pack =
      PackOp::create(b, loc, packedType(value.getType()),
                     RankedTensorType::get({kDyn}, b.getI32Type()),
                     rollToFront(b, loc, value, plan), plan.lengths,
                     PaddingSideAttr::get(b.getContext(), PaddingSide::right));
  return {pack.getPacked(), pack.getCuSeqlens()};
}

/// Restores the padded layout of `packed` with the side found at run time.
Value unpackAtRunTimeSide(OpBuilder &b, Location loc, Value packed,
                          const PackingPlan &plan) {
  Type type = unpackedType(packed.getType());
  auto ifOp = scf::IfOp::create(b, loc, type, plan.rightPadded,
                                /*addThenBlock=*/true, /*addElseBlock=*/true);
  for (auto [block, side] :
       {std::make_pair(ifOp.thenBlock(), PaddingSide::right),
        std::make_pair(ifOp.elseBlock(), PaddingSide::left)}) {
    OpBuilder nb = OpBuilder::atBlockEnd(block);
    Value unpacked =
        UnpackOp::create(nb, loc, type, packed, plan.cuSeqlens, plan.seqLen,
                         PaddingSideAttr::get(b.getContext(), side));
    scf::YieldOp::create(nb, loc, unpacked);
  }
  return ifOp.getResult(0);
}

/// The padded view of packed tokens that the patterns sink: right-padded.
Value viewPadded(OpBuilder &b, Location loc, Value packed, Type type,
                 const PackingPlan &plan) {
  Value unpacked = UnpackOp::create(
      b, loc, unpackedType(packed.getType()), packed, plan.cuSeqlens,
      plan.seqLen, PaddingSideAttr::get(b.getContext(), PaddingSide::right));
  return castTo(b, loc, unpacked, type);
}

/// The packed tokens behind `value` if it is a padded view of the plan.
Value getPackedTokens(Value value, const PackingPlan &plan) {
  if (auto cast = value.getDefiningOp<tensor::CastOp>())
    value = cast.getSource();
  auto unpack = value.getDefiningOp<UnpackOp>();
  if (!unpack || unpack.getCuSeqlens() != plan.cuSeqlens ||
      unpack.getSeqLen() != plan.seqLen ||
      unpack.getSide() != PaddingSide::right)
    return Value();
  return unpack.getPacked();
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Runs one planned op on packed tokens once all its token operands are
/// padded views of packed tokens; its token results become such views.
struct PackPlannedOp : public RewritePattern {
  PackPlannedOp(MLIRContext *context, PackingPlan &plan)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context),
        plan(plan) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    auto planned = plan.ops.find(op);
    if (planned == plan.ops.end())
      return failure();
    IRMapping packed;
    for (unsigned index : planned->second) {
      Value tokens = getPackedTokens(op->getOperand(index), plan);
      if (!tokens)
        return rewriter.notifyMatchFailure(op, "token operands not packed yet");
      packed.map(op->getOperand(index), tokens);
    }
    Value anyTokens = packed.lookup(op->getOperand(planned->second.front()));
    Operation *replacement = buildPacked(rewriter, op, packed, anyTokens);
    plan.ops.erase(planned);

    SmallVector<Value> results;
    for (OpResult result : op->getResults()) {
      if (result.getResultNumber() >= replacement->getNumResults() ||
          result.use_empty()) {
        // An unused recurrent state the packed op does not produce.
        results.push_back(Value());
        continue;
      }
      results.push_back(
          viewPadded(rewriter, op->getLoc(),
                     replacement->getResult(result.getResultNumber()),
                     result.getType(), plan));
    }
    for (auto [result, replacementValue] : llvm::zip(op->getResults(), results))
      if (replacementValue)
        rewriter.replaceAllUsesWith(result, replacementValue);
    rewriter.eraseOp(op);
    return success();
  }

private:
  /// The packed form of `op` with operands mapped by `packed`; `anyTokens`
  /// is one packed token operand (its dim 0 is the token count).
  Operation *buildPacked(PatternRewriter &rewriter, Operation *op,
                         IRMapping &packed, Value anyTokens) const {
    Location loc = op->getLoc();
    auto tokensOf = [&](Value value) {
      return value ? packed.lookupOrDefault(value) : Value();
    };
    MLIRContext *ctx = rewriter.getContext();
    return llvm::TypeSwitch<Operation *, Operation *>(op)
        .Case([&](AttentionOp attention) -> Operation * {
          MaskAttr mask = attention.getMask();
          if (mask.getKind() == MaskKind::padding)
            mask = MaskAttr::get(ctx, MaskKind::none);
          return AttentionOp::create(
              rewriter, loc, packedType(attention.getOutput().getType()),
              TypeRange{}, tokensOf(attention.getQuery()),
              tokensOf(attention.getKey()), tokensOf(attention.getValue()),
              Value(), plan.cuSeqlens, Value(), Value(), Value(),
              attention.getNumHeadsAttr(), attention.getNumKvHeadsAttr(),
              attention.getScaleAttr(), mask, attention.getSoftmaxAttr());
        })
        .Case([&](SelectiveScanOp scan) -> Operation * {
          return SelectiveScanOp::create(
              rewriter, loc, packedType(scan.getY().getType()), Type(),
              tokensOf(scan.getX()), tokensOf(scan.getDt()), scan.getA(),
              tokensOf(scan.getB()), tokensOf(scan.getC()), scan.getD(),
              tokensOf(scan.getZ()), scan.getDtBias(), plan.cuSeqlens, Value(),
              scan.getDtSoftplusAttr());
        })
        .Case([&](CausalConv1dOp conv) -> Operation * {
          return CausalConv1dOp::create(
              rewriter, loc, packedType(conv.getResult().getType()), Type(),
              tokensOf(conv.getInput()), conv.getWeight(), conv.getBias(),
              plan.cuSeqlens, Value(), conv.getActivationAttr());
        })
        .Case([&](tensor::ExtractSliceOp slice) -> Operation * {
          Value source = tokensOf(slice.getSource());
          SmallVector<OpFoldResult> offsets(
              ArrayRef(slice.getMixedOffsets()).drop_front());
          SmallVector<OpFoldResult> sizes(
              ArrayRef(slice.getMixedSizes()).drop_front());
          SmallVector<OpFoldResult> strides(
              ArrayRef(slice.getMixedStrides()).drop_front());
          sizes[0] = tensor::getMixedSize(rewriter, loc, source, 0);
          return tensor::ExtractSliceOp::create(
              rewriter, loc, packedType(slice.getType()), source, offsets,
              sizes, strides);
        })
        .Case([&](linalg::GenericOp generic) -> Operation * {
          return buildPackedGeneric(rewriter, generic, packed, anyTokens);
        })
        .Default([&](Operation *tokenWise) -> Operation * {
          // Token-wise kiln ops: the same op on [tokens, ...].
          Operation *clone = rewriter.clone(*tokenWise, packed);
          for (OpResult result : clone->getResults())
            result.setType(packedType(result.getType()));
          return clone;
        });
  }

  /// The generic with loops (batch, seq) merged into one token loop.
  Operation *buildPackedGeneric(PatternRewriter &rewriter,
                                linalg::GenericOp generic, IRMapping &packed,
                                Value anyTokens) const {
    Location loc = generic.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    unsigned numLoops = generic.getNumLoops();
    // Loop 0 stays the token loop, loop 1 disappears, the others shift.
    SmallVector<AffineExpr> loops{getAffineDimExpr(0, ctx),
                                  getAffineDimExpr(0, ctx)};
    for (unsigned d = 2; d < numLoops; ++d)
      loops.push_back(getAffineDimExpr(d - 1, ctx));
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs, inits;
    SmallVector<Type> resultTypes;
    for (OpOperand &operand : generic->getOpOperands()) {
      AffineMap map = generic.getMatchingIndexingMap(&operand);
      bool token = isTokenMap(map);
      if (token)
        map = map.dropResult(1);
      maps.push_back(map.replaceDimsAndSymbols(loops, {}, numLoops - 1, 0));
      Value value = packed.lookupOrDefault(operand.get());
      if (!generic.isDpsInit(&operand)) {
        inputs.push_back(value);
        continue;
      }
      if (value == operand.get()) {
        // A fresh init: an empty tensor of the packed shape.
        auto type = packedType(value.getType());
        SmallVector<OpFoldResult> sizes{
            tensor::getMixedSize(rewriter, loc, anyTokens, 0)};
        for (int64_t d = 1; d < type.getRank(); ++d)
          sizes.push_back(
              tensor::getMixedSize(rewriter, loc, operand.get(), d + 1));
        value = tensor::EmptyOp::create(rewriter, loc, sizes,
                                        type.getElementType());
      }
      inits.push_back(value);
      resultTypes.push_back(packedType(operand.get().getType()));
    }
    SmallVector<utils::IteratorType> iterators =
        generic.getIteratorTypesArray();
    iterators.erase(iterators.begin() + 1);
    auto result = linalg::GenericOp::create(rewriter, loc, resultTypes, inputs,
                                            inits, maps, iterators);
    rewriter.cloneRegionBefore(generic.getRegion(), result.getRegion(),
                               result.getRegion().end());
    result.getBody()->walk(
        [&](linalg::IndexOp index) { index.setDim(index.getDim() - 1); });
    return result;
  }

  PackingPlan &plan;
};

/// `tensor.dim` of a padded view: the mask's dims and the packed dims.
struct FoldDimOfView : public OpRewritePattern<tensor::DimOp> {
  FoldDimOfView(MLIRContext *context, const PackingPlan &plan)
      : OpRewritePattern(context), plan(plan) {}

  LogicalResult matchAndRewrite(tensor::DimOp op,
                                PatternRewriter &rewriter) const override {
    Value packed = getPackedTokens(op.getSource(), plan);
    std::optional<int64_t> index = op.getConstantIndex();
    if (!packed || !index)
      return failure();
    if (*index == 0)
      rewriter.replaceOpWithNewOp<tensor::DimOp>(op, plan.mask, 0);
    else if (*index == 1)
      rewriter.replaceOp(op, plan.seqLen);
    else
      rewriter.replaceOpWithNewOp<tensor::DimOp>(op, packed, *index - 1);
    return success();
  }

private:
  const PackingPlan &plan;
};

/// Forgets planned ops the rewrite driver erases (dead ones, say), so that
/// the plan never holds a dangling op.
struct PlanListener : public RewriterBase::Listener {
  explicit PlanListener(PackingPlan &plan) : plan(plan) {}
  void notifyOperationErased(Operation *op) override { plan.ops.erase(op); }
  PackingPlan &plan;
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct KilnRemovePaddingPass
    : public kiln::impl::KilnRemovePaddingBase<KilnRemovePaddingPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    std::optional<unsigned> maskIndex;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "kiln.name");
      auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
      if (name && name.getValue() == maskName && type && type.getRank() == 2 &&
          isa<IntegerType>(type.getElementType()))
        maskIndex = i;
    }
    if (!maskIndex)
      return;

    PackingPlan plan;
    if (auto blocker = analyze(func, *maskIndex, plan)) {
      blocker->first->emitRemark()
          << "kiln-remove-padding keeps '" << func.getSymName()
          << "' padded: " << blocker->second;
      return;
    }
    if (plan.ops.empty() || (encodersOnly && plan.causal))
      return;

    // Entry: lengths and side, then every boundary packed once and viewed
    // padded again: arguments at entry, other values where they are made.
    Location loc = func.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
    buildLengthsAndSide(b, loc, plan, maskName);
    auto [maskTokens, cuSeqlens] = packAnySide(b, loc, plan.mask, plan);
    plan.cuSeqlens = cuSeqlens;
    OpBuilder::InsertPoint entry = b.saveInsertionPoint();
    for (Value boundary : plan.boundaries) {
      if (Operation *def = boundary.getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.restoreInsertionPoint(entry);
      Value tokens =
          boundary == plan.mask
              ? maskTokens
              : packAnySide(b, boundary.getLoc(), boundary, plan).first;
      Value view =
          viewPadded(b, boundary.getLoc(), tokens, boundary.getType(), plan);
      if (!boundary.getDefiningOp())
        entry = b.saveInsertionPoint();
      for (auto &[op, indices] : plan.ops)
        for (unsigned index : indices)
          if (op->getOperand(index) == boundary)
            op->setOperand(index, view);
    }

    RewritePatternSet patterns(&getContext());
    patterns.add<PackPlannedOp>(&getContext(), plan);
    patterns.add<FoldDimOfView>(&getContext(), plan);
    // No folding: the plan holds values (the side, cu_seqlens) that folders
    // of the surrounding ops could replace; canonicalization comes later.
    PlanListener listener(plan);
    if (failed(applyPatternsGreedily(func, std::move(patterns),
                                     GreedyRewriteConfig()
                                         .setListener(&listener)
                                         .setUseTopDownTraversal()
                                         .enableFolding(false)
                                         .enableConstantCSE(false)))) {
      func.emitError("kiln-remove-padding: the rewrite did not converge");
      return signalPassFailure();
    }
    if (!plan.ops.empty()) {
      plan.ops.begin()->first->emitError(
          "kiln-remove-padding: internal error: op left padded");
      return signalPassFailure();
    }

    // Exit: returned views become unpacks with the run-time side.
    Operation *terminator = func.getBody().front().getTerminator();
    b.setInsertionPoint(terminator);
    for (OpOperand &operand : terminator->getOpOperands()) {
      Value view = operand.get();
      Value tokens = getPackedTokens(view, plan);
      if (!tokens)
        continue;
      operand.set(castTo(b, loc, unpackAtRunTimeSide(b, loc, tokens, plan),
                         view.getType()));
      while (view && view.use_empty()) {
        Operation *dead = view.getDefiningOp();
        view = isa<tensor::CastOp>(dead) ? dead->getOperand(0) : Value();
        dead->erase();
      }
    }
  }
};

} // namespace
