//===- Pack.cpp - Lower kiln.pack and kiln.unpack -------------------------===//
//
// Part of Kiln. Packing moves whole rows between the padded [B, S, ...] and
// the packed [T, ...] layouts, one tensor slice per sequence inside an
// scf.for; the offsets come from cu_seqlens at run time.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Offsets (all zero but dims 0 and 1) and unit strides for a slice of a
/// [B, S, ...] tensor at (`seq`, `row`).
SmallVector<OpFoldResult> rowOffsets(OpBuilder &b, int64_t rank,
                                     OpFoldResult seq, OpFoldResult row) {
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[0] = seq;
  offsets[1] = row;
  return offsets;
}

/// Where the `length` real rows of a padded row of `seqLen` start.
OpFoldResult firstRealRow(OpBuilder &b, Location loc, PaddingSide side,
                          Value seqLen, Value length) {
  if (side == PaddingSide::right)
    return b.getIndexAttr(0);
  return arith::SubIOp::create(b, loc, seqLen, length).getResult();
}

struct PackLowering : OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput(), lengths = adaptor.getLengths();
    auto inType = cast<RankedTensorType>(input.getType());
    int64_t rank = inType.getRank();
    PaddingSide side = op.getSide();
    Type i32 = rewriter.getI32Type();
    Value zero = indexConst(rewriter, loc, 0);
    Value one = indexConst(rewriter, loc, 1);
    Value batch = getDimValue(rewriter, loc, input, 0);
    Value seqLen = getDimValue(rewriter, loc, input, 1);

    // cu_seqlens = exclusive prefix sum of the lengths. Lengths are clamped
    // into [0, seq_len] so that a bad length can never move rows from outside
    // the input; cu_seqlens describes the rows actually packed.
    Value cuSize = arith::AddIOp::create(rewriter, loc, batch, one);
    Value cuInit = tensor::EmptyOp::create(rewriter, loc,
                                           ArrayRef<OpFoldResult>{cuSize}, i32);
    cuInit = tensor::InsertOp::create(
        rewriter, loc, arith::ConstantIntOp::create(rewriter, loc, i32, 0),
        cuInit, ValueRange{zero});
    auto prefix = scf::ForOp::create(
        rewriter, loc, zero, batch, one, ValueRange{cuInit, zero},
        [&](OpBuilder &b, Location l, Value seq, ValueRange carried) {
          Value length = extractAsIndex(b, l, lengths, ValueRange{seq});
          length = arith::MinSIOp::create(
              b, l, arith::MaxSIOp::create(b, l, length, zero), seqLen);
          Value total = arith::AddIOp::create(b, l, carried[1], length);
          Value next = arith::AddIOp::create(b, l, seq, one);
          Value cu = tensor::InsertOp::create(
              b, l, arith::IndexCastOp::create(b, l, i32, total), carried[0],
              ValueRange{next});
          scf::YieldOp::create(b, l, ValueRange{cu, total});
        });
    Value cuSeqlens = prefix.getResult(0);
    // The token count read back from cu_seqlens rather than taken from the
    // loop: shape analyses (value bounds) of every packed value then stop
    // at one opaque value instead of reasoning through the loop.
    Value tokens = extractAsIndex(rewriter, loc, cuSeqlens, ValueRange{batch});

    SmallVector<OpFoldResult> packedSizes = getSizes(rewriter, loc, input);
    packedSizes.erase(packedSizes.begin());
    packedSizes[0] = tokens;
    Value packedInit =
        emptyTensor(rewriter, loc, packedSizes, inType.getElementType());
    auto copy = scf::ForOp::create(
        rewriter, loc, zero, batch, one, ValueRange{packedInit},
        [&](OpBuilder &b, Location l, Value seq, ValueRange carried) {
          auto [start, length] = sequenceBounds(b, l, cuSeqlens, seq);
          OpFoldResult row = firstRealRow(b, l, side, seqLen, length);
          SmallVector<OpFoldResult> sizes = getSizes(b, l, input);
          sizes[0] = b.getIndexAttr(1);
          sizes[1] = length;
          Value rows = tensor::ExtractSliceOp::create(
              b, l, input, rowOffsets(b, rank, seq, row), sizes,
              SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
          Value packed = insertDim0(b, l, dropLeadingUnitDim(b, l, rows),
                                    carried[0], start);
          scf::YieldOp::create(b, l, ValueRange{packed});
        });
    rewriter.replaceOp(op,
                       ValueRange{castToType(rewriter, loc, copy.getResult(0),
                                             op.getPacked().getType()),
                                  castToType(rewriter, loc, cuSeqlens,
                                             op.getCuSeqlens().getType())});
    return success();
  }
};

struct UnpackLowering : OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(UnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value packed = adaptor.getPacked(), cu = adaptor.getCuSeqlens();
    Value seqLen = adaptor.getSeqLen();
    auto packedType = cast<RankedTensorType>(packed.getType());
    Type elementType = packedType.getElementType();
    int64_t rank = packedType.getRank() + 1;
    PaddingSide side = op.getSide();
    Value zero = indexConst(rewriter, loc, 0);
    Value one = indexConst(rewriter, loc, 1);
    Value batch = arith::SubIOp::create(rewriter, loc,
                                        getDimValue(rewriter, loc, cu, 0), one);

    // Padding positions are zero.
    SmallVector<OpFoldResult> sizes{batch, seqLen};
    llvm::append_range(sizes,
                       ArrayRef(getSizes(rewriter, loc, packed)).drop_front());
    Value zeroElement = arith::ConstantOp::create(
        rewriter, loc, elementType,
        cast<TypedAttr>(rewriter.getZeroAttr(elementType)));
    Value init = linalg::FillOp::create(
                     rewriter, loc, ValueRange{zeroElement},
                     ValueRange{emptyTensor(rewriter, loc, sizes, elementType)})
                     .getResult(0);
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, batch, one, ValueRange{init},
        [&](OpBuilder &b, Location l, Value seq, ValueRange carried) {
          auto [start, length] = sequenceBounds(b, l, cu, seq);
          // A sequence longer than seq_len keeps its first seq_len tokens
          // rather than writing past its row.
          length = arith::MinSIOp::create(b, l, length, seqLen);
          OpFoldResult row = firstRealRow(b, l, side, seqLen, length);
          Value rows =
              prependUnitDim(b, l, sliceDim0(b, l, packed, start, length));
          Value result = tensor::InsertSliceOp::create(
              b, l, rows, carried[0], rowOffsets(b, rank, seq, row),
              getSizes(b, l, rows),
              SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
          scf::YieldOp::create(b, l, ValueRange{result});
        });
    rewriter.replaceOp(
        op, castToType(rewriter, loc, loop.getResult(0), op.getType()));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populatePackPatterns(RewritePatternSet &patterns) {
  patterns.add<PackLowering, UnpackLowering>(patterns.getContext());
}
