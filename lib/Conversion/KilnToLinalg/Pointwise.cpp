//===- Pointwise.cpp - Lower token-wise kiln ops --------------------------===//
//
// Part of Kiln. Activations, residual adds, gating products, head reshapes and
// the embedding gather: each is one `linalg.generic` or one reshape, so later
// passes can fuse them into their producers and consumers.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

struct ActivationLowering : OpConversionPattern<ActivationOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ActivationOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Type elementType = op.getType().getElementType();
    Type accType = accumulatorType(elementType);
    Activation kind = op.getKind();
    Value init =
        emptyTensor(rewriter, loc, getSizes(rewriter, loc, input), elementType);
    Value result = buildElementwise(
        rewriter, loc, ValueRange{input}, init,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value x = convertFloat(b, l, args[0], accType);
          return convertFloat(b, l, applyActivation(b, l, kind, x),
                              elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// kiln.add and kiln.mul: one elementwise generic with the arith op.
template <typename KilnOp, typename ArithOp>
struct BinaryLowering : OpConversionPattern<KilnOp> {
  using OpConversionPattern<KilnOp>::OpConversionPattern;
  using OpAdaptor = typename OpConversionPattern<KilnOp>::OpAdaptor;

  LogicalResult
  matchAndRewrite(KilnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs();
    Value init = emptyTensor(rewriter, loc, getSizes(rewriter, loc, lhs),
                             op.getType().getElementType());
    Value result = buildElementwise(
        rewriter, loc, ValueRange{lhs, adaptor.getRhs()}, init,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return ArithOp::create(b, l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SplitHeadsLowering : OpConversionPattern<SplitHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SplitHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    int64_t rank = inType.getRank();
    int64_t heads = static_cast<int64_t>(op.getNumHeads());
    int64_t width = inType.getShape().back();
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t i = 0; i < rank - 1; ++i)
      reassoc.push_back({i});
    reassoc.push_back({rank - 1, rank});
    SmallVector<OpFoldResult> sizes = getSizes(rewriter, loc, input);
    sizes.back() = rewriter.getIndexAttr(heads);
    sizes.push_back(rewriter.getIndexAttr(width / heads));
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, op.getType(), input,
                                                       reassoc, sizes);
    return success();
  }
};

struct MergeHeadsLowering : OpConversionPattern<MergeHeadsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MergeHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t rank = op.getInput().getType().getRank();
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t i = 0; i < rank - 2; ++i)
      reassoc.push_back({i});
    reassoc.push_back({rank - 2, rank - 1});
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getType(), adaptor.getInput(), reassoc);
    return success();
  }
};

/// What an embedding's table is called in messages: the kiln.param name
/// when it is a parameter.
std::string describeTable(EmbeddingOp op) {
  if (auto param = op.getTable().getDefiningOp<ParamOp>())
    return ("'" + param.getName() + "'").str();
  return "its table";
}

/// Emits `cf.assert(all(0 <= ids < rows))` with a message naming the table
/// and its row count, and saying which inputs usually feed an embedding.
void assertIdsInRange(OpBuilder &b, Location loc, EmbeddingOp op, Value ids,
                      Value rows) {
  auto idsType = cast<RankedTensorType>(ids.getType());
  Type idType = idsType.getElementType();
  Type i1 = b.getI1Type();
  Value rowsAsId = arith::IndexCastOp::create(b, loc, idType, rows);
  Value zeroId = arith::ConstantOp::create(b, loc, IntegerAttr::get(idType, 0));
  Value allTrue = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  Value init = linalg::FillOp::create(
                   b, loc, ValueRange{allTrue},
                   ValueRange{emptyTensor(b, loc, {}, i1)})
                   .getResult(0);
  SmallVector<unsigned> all;
  for (int64_t i = 0; i < idsType.getRank(); ++i)
    all.push_back(i);
  SmallVector<utils::IteratorType> iterators(idsType.getRank(),
                                             utils::IteratorType::reduction);
  Value inRange = buildGeneric(
      b, loc, ValueRange{ids},
      {dimsMap(b.getContext(), idsType.getRank(), all)}, init, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value geZero = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                             args[0], zeroId);
        Value ltRows = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                             args[0], rowsAsId);
        Value ok = arith::AndIOp::create(nb, l, geZero, ltRows);
        return arith::AndIOp::create(nb, l, args[1], ok);
      });
  Value allInRange = tensor::ExtractOp::create(b, loc, inRange, ValueRange{});
  std::string rowCount;
  auto tableType = cast<RankedTensorType>(op.getTable().getType());
  if (!tableType.isDynamicDim(0))
    rowCount = std::to_string(tableType.getDimSize(0));
  else
    rowCount = "rows";
  cf::AssertOp::create(
      b, loc, allInRange,
      "embedding: an index into " + describeTable(op) +
          " is outside [0, " + rowCount +
          "); token ids must be below the vocabulary size and positions "
          "below the maximum number of positions the model was built for");
}

struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable();
    Value ids = adaptor.getIds();
    int64_t idsRank = cast<RankedTensorType>(ids.getType()).getRank();
    unsigned numLoops = idsRank + 1;
    SmallVector<OpFoldResult> sizes = getSizes(rewriter, loc, ids);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, table, 1));
    Type elementType = op.getType().getElementType();
    Value init = emptyTensor(rewriter, loc, sizes, elementType);

    // An id outside [0, rows) ends the call with an execution error (the
    // check is one pass over the ids, small next to the gather). The gather
    // still clamps, so that no id can read outside the table even where the
    // check's failure path is not lowered to the runtime's error channel.
    Value zero = indexConst(rewriter, loc, 0);
    Value rows = getDimValue(rewriter, loc, table, 0);
    Value lastRow = arith::SubIOp::create(rewriter, loc, rows,
                                          indexConst(rewriter, loc, 1));
    assertIdsInRange(rewriter, loc, op, ids, rows);
    SmallVector<unsigned> idDims;
    for (int64_t i = 0; i < idsRank; ++i)
      idDims.push_back(i);
    SmallVector<utils::IteratorType> iterators(numLoops,
                                               utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, ValueRange{ids},
        {dimsMap(rewriter.getContext(), numLoops, idDims)}, init, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value id =
              arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          id = arith::MaxSIOp::create(b, l, id, zero);
          id = arith::MinSIOp::create(b, l, id, lastRow);
          Value column = linalg::IndexOp::create(b, l, idsRank);
          return tensor::ExtractOp::create(b, l, table, ValueRange{id, column});
        });
    rewriter.replaceOp(op, castToType(rewriter, loc, result, op.getType()));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populatePointwisePatterns(
    RewritePatternSet &patterns) {
  patterns.add<ActivationLowering, BinaryLowering<AddOp, arith::AddFOp>,
               BinaryLowering<MulOp, arith::MulFOp>, SplitHeadsLowering,
               MergeHeadsLowering, EmbeddingLowering>(patterns.getContext());
}
