//===- SparseLinear.cpp - Lower kiln's block-sparse and 2:4 linears -------===//
//
// Part of Kiln. Both kernels compute the transposed product
// `yT[n, m] = sum_k W[n, k] * xT[k, m]` with the tokens (m) in vector lanes:
// then a weight value is a scalar broadcast and the input features it pairs
// with are whole rows of xT, so the data-dependent part (which blocks,
// which positions of a 2:4 group) is only scalar index arithmetic, and the
// multiply-adds stay dense vector FMAs whatever the sparsity pattern. xT
// is padded with zero tokens to a multiple of the lane count, so every
// vector access is in bounds; each tile of accumulators is transposed in
// registers and written to y's rows (padded, then the real rows copied).
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Tokens per vector: two AVX2 registers of f32 per accumulator row.
constexpr int64_t kLanes = 16;
/// Output rows accumulated at once: 4 rows x 2 registers leave room for the
/// xT row and the broadcast weight within AVX2's 16 registers.
constexpr int64_t kRowTile = 4;

/// The largest of 4, 2, 1 that divides `n`.
int64_t rowTileFor(int64_t n) {
  for (int64_t t = kRowTile; t > 1; t /= 2)
    if (n % t == 0)
      return t;
  return 1;
}

/// Builds the shared parts of both kernels.
class SparseKernelBuilder {
public:
  SparseKernelBuilder(OpBuilder &b, Location loc, Value input, Value bias,
                      int64_t outFeatures)
      : b(b), loc(loc), input(input), bias(bias), n(outFeatures) {
    f32 = b.getF32Type();
    lane = VectorType::get({kLanes}, f32);
  }

  /// x as [M, K] transposed to [K, Mp] (Mp = M rounded up to kLanes, zero
  /// tokens after M). Sets `tokens` and `paddedTokens`.
  Value transposedInput();

  /// Runs `rowGroup(builder, firstRow, m0, accumulators) -> accumulators`
  /// for every group of `groupRows` output rows (in parallel) and every
  /// kLanes tokens, accumulators starting at the bias, and returns the
  /// result reshaped like the op's. `groupRows` must divide n and be a
  /// multiple of `rowTile`; one call per row tile of the group.
  Value build(Type resultType, int64_t groupRows, int64_t rowTile,
              function_ref<SmallVector<Value>(OpBuilder &, Value group,
                                              Value firstRow, Value m0,
                                              ValueRange acc)>
                  rowTileBody);

  Value index(OpBuilder &nb, int64_t v) { return indexConst(nb, loc, v); }
  /// xT[k, m0 .. m0 + kLanes - 1].
  Value readTokens(OpBuilder &nb, Value xT, Value k, Value m0) {
    return vector::TransferReadOp::create(
        nb, loc, lane, xT, ValueRange{k, m0},
        arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.0)),
        ArrayRef<bool>{true});
  }
  /// acc + broadcast(w) * tokens.
  Value fma(OpBuilder &nb, Value w, Value tokens, Value acc) {
    Value splat = vector::BroadcastOp::create(nb, loc, lane, w);
    return vector::FMAOp::create(nb, loc, splat, tokens, acc);
  }
  Value xT;

private:
  OpBuilder &b;
  Location loc;
  Value input, bias;
  int64_t n;
  Type f32;
  VectorType lane;
  Value tokens, paddedTokens;
};

Value SparseKernelBuilder::transposedInput() {
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t rank = inType.getRank(), k = inType.getShape().back();
  Value x = input;
  if (rank == 1) {
    x = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, k}, f32), input,
        SmallVector<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(k)});
  } else if (rank > 2) {
    ReassociationIndices lead;
    for (int64_t i = 0; i < rank - 1; ++i)
      lead.push_back(i);
    x = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic, k}, f32), input,
        SmallVector<ReassociationIndices>{lead, {rank - 1}});
  }
  tokens = getDimValue(b, loc, x, 0);
  Value lanes = index(b, kLanes);
  paddedTokens = arith::MulIOp::create(
      b, loc,
      arith::CeilDivUIOp::create(b, loc, tokens, lanes), lanes);
  // One more lane group than needed: rows of a power-of-two number of
  // tokens would be 4 KiB apart, and the xT rows one block reads would all
  // fall into the same L1 sets.
  Value width = arith::AddIOp::create(b, loc, paddedTokens, lanes);
  Value padded = filledTensor(b, loc, {b.getIndexAttr(k), width}, f32, 0.0);
  // Transposed straight into the padded buffer (in place once bufferized).
  Value real = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({k, ShapedType::kDynamic}, f32), padded,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(k), tokens},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  Value transposed = linalg::TransposeOp::create(b, loc, x, real,
                                                 ArrayRef<int64_t>{1, 0})
                         .getResult()[0];
  xT = tensor::InsertSliceOp::create(
      b, loc, transposed, padded,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(k), tokens},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  return xT;
}

Value SparseKernelBuilder::build(
    Type resultType, int64_t groupRows, int64_t rowTile,
    function_ref<SmallVector<Value>(OpBuilder &, Value, Value, Value,
                                    ValueRange)>
        rowTileBody) {
  // y [Mp, N]: each group writes its columns of every token row.
  Value out = emptyTensor(b, loc, {paddedTokens, b.getIndexAttr(n)}, f32);
  auto tileType = RankedTensorType::get({ShapedType::kDynamic, groupRows}, f32);
  VectorType rowVector = VectorType::get({rowTile}, f32);
  SmallVector<OpFoldResult> unit(2, b.getIndexAttr(1));
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n / groupRows)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{out},
      std::nullopt, [&](OpBuilder &nb, Location, ValueRange args) {
        Value group = args[0], shared = args[1];
        Value firstRow =
            arith::MulIOp::create(nb, loc, group, index(nb, groupRows));
        SmallVector<OpFoldResult> offsets = {nb.getIndexAttr(0), firstRow};
        SmallVector<OpFoldResult> sizes = {paddedTokens,
                                           nb.getIndexAttr(groupRows)};
        Value tile = tensor::ExtractSliceOp::create(nb, loc, tileType, shared,
                                                    offsets, sizes, unit);
        auto tokenLoop = scf::ForOp::create(
            nb, loc, index(nb, 0), paddedTokens, index(nb, kLanes),
            ValueRange{tile},
            [&](OpBuilder &tb, Location, Value m0, ValueRange iter) {
              Value t = iter[0];
              for (int64_t r0 = 0; r0 < groupRows; r0 += rowTile) {
                Value row0 =
                    arith::AddIOp::create(tb, loc, firstRow, index(tb, r0));
                SmallVector<Value> acc;
                for (int64_t r = 0; r < rowTile; ++r) {
                  Value init;
                  if (bias) {
                    Value row =
                        arith::AddIOp::create(tb, loc, row0, index(tb, r));
                    Value scalar =
                        tensor::ExtractOp::create(tb, loc, bias, row);
                    init = vector::BroadcastOp::create(tb, loc, lane, scalar);
                  } else {
                    init = vector::BroadcastOp::create(
                        tb, loc, lane,
                        arith::ConstantOp::create(tb, loc,
                                                  tb.getF32FloatAttr(0.0)));
                  }
                  acc.push_back(init);
                }
                acc = rowTileBody(tb, group, row0, m0, acc);
                // Transpose the rowTile x kLanes accumulators in registers:
                // token i's rowTile outputs are contiguous in y.
                for (int64_t i = 0; i < kLanes; ++i) {
                  SmallVector<Value> outputs;
                  for (int64_t r = 0; r < rowTile; ++r)
                    outputs.push_back(
                        vector::ExtractOp::create(tb, loc, acc[r], i));
                  Value row = vector::FromElementsOp::create(
                      tb, loc, rowVector, outputs);
                  Value token =
                      arith::AddIOp::create(tb, loc, m0, index(tb, i));
                  t = vector::TransferWriteOp::create(
                          tb, loc, row, t, ValueRange{token, index(tb, r0)},
                          ArrayRef<bool>{true})
                          .getResult();
                }
              }
              scf::YieldOp::create(tb, loc, t);
            });
        auto terminator = scf::InParallelOp::create(nb, loc);
        nb.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(nb, loc, tokenLoop.getResult(0),
                                              shared, offsets, sizes, unit);
      });

  // The real tokens' rows, copied out of the padded rows (a view of them
  // trips memref.expand_shape lowering for the leading dims), then the
  // op's leading dims.
  Value real = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({ShapedType::kDynamic, n}, f32),
      forall.getResult(0),
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{tokens, b.getIndexAttr(n)}, unit);
  Value y = linalg::CopyOp::create(
                b, loc, real,
                emptyTensor(b, loc, {tokens, b.getIndexAttr(n)}, f32))
                .getResult(0);
  auto outType = cast<RankedTensorType>(resultType);
  int64_t rank = outType.getRank();
  if (rank == 2)
    return castToType(b, loc, y, resultType);
  auto inType = cast<RankedTensorType>(input.getType());
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, outType, y, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead;
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank - 1; ++i) {
    lead.push_back(i);
    sizes.push_back(tensor::getMixedSize(b, loc, input, i));
  }
  sizes.push_back(b.getIndexAttr(n));
  (void)inType;
  return tensor::ExpandShapeOp::create(
      b, loc, outType, y, SmallVector<ReassociationIndices>{lead, {rank - 1}},
      sizes);
}

/// The sparse kernels compute in f32 only.
template <typename SparseLinearOp> bool hasF32Input(SparseLinearOp op) {
  return cast<RankedTensorType>(op.getInput().getType())
      .getElementType()
      .isF32();
}

struct BlockSparseLinearLowering
    : OpConversionPattern<BlockSparseLinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(BlockSparseLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (!hasF32Input(op))
      return rewriter.notifyMatchFailure(op, "f32 only");
    auto valuesType = cast<RankedTensorType>(op.getValues().getType());
    int64_t blockRows = valuesType.getDimSize(1);
    int64_t blockCols = valuesType.getDimSize(2);
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t n = resultType.getShape().back();
    SparseKernelBuilder kernel(rewriter, loc, adaptor.getInput(),
                               adaptor.getBias(), n);
    Value xT = kernel.transposedInput();
    Value values = adaptor.getValues(), columns = adaptor.getColumns(),
          offsets = adaptor.getOffsets();
    int64_t rowTile = rowTileFor(blockRows);
    Value result = kernel.build(
        resultType, blockRows, rowTile,
        [&](OpBuilder &b, Value blockRow, Value row0, Value m0,
            ValueRange acc) -> SmallVector<Value> {
          // Rows row0 .. row0 + rowTile - 1 within block row `blockRow`.
          Value inBlock = arith::RemUIOp::create(
              b, loc, row0, kernel.index(b, blockRows));
          Value first = extractAsIndex(b, loc, offsets, ValueRange{blockRow});
          Value last = extractAsIndex(
              b, loc, offsets,
              ValueRange{arith::AddIOp::create(b, loc, blockRow,
                                               kernel.index(b, 1))});
          auto blocks = scf::ForOp::create(
              b, loc, first, last, kernel.index(b, 1), acc,
              [&](OpBuilder &pb, Location, Value p, ValueRange pacc) {
                Value column = extractAsIndex(pb, loc, columns, ValueRange{p});
                Value k0 = arith::MulIOp::create(
                    pb, loc, column, kernel.index(pb, blockCols));
                auto cols = scf::ForOp::create(
                    pb, loc, kernel.index(pb, 0), kernel.index(pb, blockCols),
                    kernel.index(pb, 1), pacc,
                    [&](OpBuilder &cb, Location, Value c, ValueRange cacc) {
                      Value k = arith::AddIOp::create(cb, loc, k0, c);
                      Value tokens = kernel.readTokens(cb, xT, k, m0);
                      SmallVector<Value> next;
                      for (int64_t r = 0; r < rowTile; ++r) {
                        Value row = arith::AddIOp::create(
                            cb, loc, inBlock, kernel.index(cb, r));
                        Value w = tensor::ExtractOp::create(
                            cb, loc, values, ValueRange{p, row, c});
                        next.push_back(kernel.fma(cb, w, tokens, cacc[r]));
                      }
                      scf::YieldOp::create(cb, loc, next);
                    });
                scf::YieldOp::create(pb, loc, cols.getResults());
              });
          return SmallVector<Value>(blocks.getResults());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SemiSparseLinearLowering : OpConversionPattern<SemiSparseLinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SemiSparseLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (!hasF32Input(op))
      return rewriter.notifyMatchFailure(op, "f32 only");
    auto valuesType = cast<RankedTensorType>(op.getValues().getType());
    int64_t n = valuesType.getDimSize(0), half = valuesType.getDimSize(1);
    SparseKernelBuilder kernel(rewriter, loc, adaptor.getInput(),
                               adaptor.getBias(), n);
    Value xT = kernel.transposedInput();
    Value values = adaptor.getValues(), meta = adaptor.getMeta();
    int64_t rowTile = rowTileFor(n);
    Value result = kernel.build(
        op.getType(), rowTile, rowTile,
        [&](OpBuilder &b, Value, Value row0, Value m0,
            ValueRange acc) -> SmallVector<Value> {
          // One metadata byte: four values, two groups of four inputs.
          auto bytes = scf::ForOp::create(
              b, loc, kernel.index(b, 0), kernel.index(b, half / 4),
              kernel.index(b, 1), acc,
              [&](OpBuilder &qb, Location, Value q, ValueRange qacc) {
                Value k0 =
                    arith::MulIOp::create(qb, loc, q, kernel.index(qb, 8));
                Value v0 =
                    arith::MulIOp::create(qb, loc, q, kernel.index(qb, 4));
                SmallVector<Value> next(qacc);
                for (int64_t r = 0; r < rowTile; ++r) {
                  Value row =
                      arith::AddIOp::create(qb, loc, row0, kernel.index(qb, r));
                  Value byte = tensor::ExtractOp::create(qb, loc, meta,
                                                         ValueRange{row, q});
                  Value bits = arith::ExtUIOp::create(qb, loc,
                                                      qb.getI32Type(), byte);
                  for (int64_t s = 0; s < 4; ++s) {
                    Value shifted = arith::ShRUIOp::create(
                        qb, loc, bits,
                        arith::ConstantOp::create(qb, loc, qb.getI32IntegerAttr(2 * s)));
                    Value position = arith::AndIOp::create(
                        qb, loc, shifted,
                        arith::ConstantOp::create(qb, loc, qb.getI32IntegerAttr(3)));
                    Value k = arith::AddIOp::create(
                        qb, loc,
                        arith::AddIOp::create(
                            qb, loc, k0, kernel.index(qb, 4 * (s / 2))),
                        arith::IndexCastUIOp::create(
                            qb, loc, qb.getIndexType(), position));
                    Value w = tensor::ExtractOp::create(
                        qb, loc, values,
                        ValueRange{row, arith::AddIOp::create(
                                            qb, loc, v0, kernel.index(qb, s))});
                    Value tokens = kernel.readTokens(qb, xT, k, m0);
                    next[r] = kernel.fma(qb, w, tokens, next[r]);
                  }
                }
                scf::YieldOp::create(qb, loc, next);
              });
          return SmallVector<Value>(bytes.getResults());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateSparseLinearPatterns(
    RewritePatternSet &patterns) {
  patterns.add<BlockSparseLinearLowering, SemiSparseLinearLowering>(
      patterns.getContext());
}
