//===- KilnAttrsTest.cpp - C++ API of the kiln attributes -----------------===//
//
// Part of Kiln. The attribute verifiers also guard the C++ builders; these
// rules cannot be reached from textual IR because the parser never produces
// the inconsistent parameters.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnAttrs.h"
#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

class KilnAttrsTest : public ::testing::Test {
protected:
  KilnAttrsTest() { context.loadDialect<KilnDialect>(); }

  /// Emits errors at an unknown location (the out-of-line getChecked form).
  InFlightDiagnostic emitAtUnknown() {
    return emitError(UnknownLoc::get(&context));
  }

  /// Runs `build` and returns the text of the diagnostic it emitted.
  template <typename BuildFn> std::string diagnosticOf(BuildFn build) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    EXPECT_FALSE(build()) << "expected the builder to fail";
    return message;
  }

  MLIRContext context;
};

TEST_F(KilnAttrsTest, MaskKindsAndCausality) {
  EXPECT_TRUE(MaskAttr::get(&context, MaskKind::causal).isCausal());
  EXPECT_TRUE(
      MaskAttr::get(&context, MaskKind::sliding_window, 8, 0, 0, 0).isCausal());
  EXPECT_FALSE(MaskAttr::get(&context, MaskKind::none).isCausal());
  EXPECT_FALSE(MaskAttr::get(&context, MaskKind::padding).isCausal());
  auto sparse = MaskAttr::get(&context, MaskKind::block_sparse, 0, 64, 3, 1);
  EXPECT_EQ(sparse.getBlockSize(), 64);
  EXPECT_EQ(sparse.getLocalBlocks(), 3);
  EXPECT_EQ(sparse.getGlobalBlocks(), 1);
}

TEST_F(KilnAttrsTest, WindowOnlyForSlidingWindow) {
  std::string message = diagnosticOf([&] {
    return MaskAttr::getChecked([&] { return emitAtUnknown(); }, &context,
                                MaskKind::causal, int64_t{16}, int64_t{0},
                                int64_t{0}, int64_t{0});
  });
  EXPECT_EQ(message, "only a sliding_window mask takes a window");
}

TEST_F(KilnAttrsTest, BlockParametersOnlyForBlockSparse) {
  std::string message = diagnosticOf([&] {
    return MaskAttr::getChecked([&] { return emitAtUnknown(); }, &context,
                                MaskKind::none, int64_t{0}, int64_t{64},
                                int64_t{1}, int64_t{0});
  });
  EXPECT_EQ(message, "only a block_sparse mask takes block parameters");
}

TEST_F(KilnAttrsTest, StandardSoftmaxTakesNoParameters) {
  EXPECT_EQ(SoftmaxAttr::getStandard(&context).getKind(),
            SoftmaxKind::standard);
  std::string message = diagnosticOf([&] {
    return SoftmaxAttr::getChecked([&] { return emitAtUnknown(); }, &context,
                                   SoftmaxKind::standard, llvm::APFloat(1.5),
                                   llvm::APFloat(0.0));
  });
  EXPECT_EQ(message, "standard softmax takes no zeta/gamma");
}

TEST_F(KilnAttrsTest, ClippedSoftmaxRoundTrip) {
  auto clipped = SoftmaxAttr::get(&context, SoftmaxKind::clipped,
                                  llvm::APFloat(1.003), llvm::APFloat(-0.003));
  EXPECT_DOUBLE_EQ(clipped.getZeta().convertToDouble(), 1.003);
  EXPECT_DOUBLE_EQ(clipped.getGamma().convertToDouble(), -0.003);
  std::string text;
  llvm::raw_string_ostream os(text);
  Attribute(clipped).print(os);
  EXPECT_EQ(text, "#kiln.softmax<clipped zeta = 1.003000e+00, gamma = "
                  "-3.000000e-03>");
}

} // namespace
