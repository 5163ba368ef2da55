//===- ApproximateMath.cpp - Vectorizable erf, tanh, exp and log ----------===//
//
// Part of Kiln. Implements kiln-cpu-approximate-math.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNCPUAPPROXIMATEMATH
#include "kiln/Codegen/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;

namespace {

struct KilnCpuApproximateMathPass
    : public kiln::impl::KilnCpuApproximateMathBase<
          KilnCpuApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // exp feeds softmax and silu, log1p Mamba's softplus(dt); sin/cos
    // (rope) keep libm, whose range reduction stays exact for large
    // position angles.
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return llvm::is_contained(
          {"math.erf", "math.tanh", "math.exp", "math.log", "math.log1p"},
          name);
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
