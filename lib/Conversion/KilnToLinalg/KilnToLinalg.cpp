//===- KilnToLinalg.cpp - Lower kiln ops to linalg ------------------------===//
//
// Part of Kiln. The pass and the pattern registry; the patterns live in one
// file per op family (Linear, Pointwise, Norm, Attention, StateSpace, Pack).
//
//===----------------------------------------------------------------------===//

#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"
#include "LoweringUtils.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNLOWERTOLINALG
#include "kiln/Conversion/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

void mlir::kiln::populateKilnToLinalgPatterns(RewritePatternSet &patterns,
                                              bool flashAttention) {
  lowering::populateLinearPatterns(patterns);
  lowering::populateSparseLinearPatterns(patterns);
  lowering::populatePointwisePatterns(patterns);
  lowering::populateNormPatterns(patterns);
  lowering::populateAttentionPatterns(patterns, flashAttention);
  lowering::populateStateSpacePatterns(patterns);
  lowering::populatePackPatterns(patterns);
}

namespace {
struct KilnLowerToLinalgPass
    : public kiln::impl::KilnLowerToLinalgBase<KilnLowerToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addLegalDialect<arith::ArithDialect, cf::ControlFlowDialect,
                           linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect, vector::VectorDialect>();
    target.addIllegalDialect<KilnDialect>();
    // Projections dequantize their weights inside the matmul; the
    // dequantize ops are then dead.
    target.addLegalOp<ParamOp, DequantizeOp>();
    RewritePatternSet patterns(&getContext());
    populateKilnToLinalgPatterns(patterns, flashAttention);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    WalkResult walk = getOperation()->walk([](DequantizeOp op) {
      if (op->use_empty()) {
        op->erase();
        return WalkResult::advance();
      }
      op->emitOpError("can only be lowered as the in_out weight of "
                      "kiln.linear or kiln.ffn on f32 inputs");
      return WalkResult::interrupt();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
