//===- LowerAsserts.cpp - cf.assert to execution errors -------------------===//
//
// Part of Kiln. Implements kiln-lower-asserts: a failing cf.assert calls the
// model support library's kiln_support_fail, which ends the call with the
// assert's message instead of aborting the process.
//
//===----------------------------------------------------------------------===//

#include "kiln/Conversion/LowerAsserts/LowerAsserts.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace kiln {
#define GEN_PASS_DEF_KILNLOWERASSERTS
#include "kiln/Conversion/Passes.h.inc"
} // namespace kiln
} // namespace mlir

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The hook of lib/Runtime/ModelSupport.c: printf-style, never returns.
constexpr StringLiteral kFailHook = "kiln_support_fail";

/// The address of a constant NUL-terminated string global of `module`
/// named `name` (or `name` with a suffix, when taken), created unless
/// `reuse` finds one of that exact name.
Value stringAddress(OpBuilder &b, Location loc, ModuleOp module, StringRef name,
                    StringRef text, bool reuse) {
  auto global = module.lookupSymbol<LLVM::GlobalOp>(name);
  if (!global || !reuse) {
    std::string unique = name.str();
    for (unsigned i = 0; module.lookupSymbol(unique); ++i)
      unique = (name + "_" + Twine(i)).str();
    std::string bytes = text.str();
    bytes.push_back('\0');
    OpBuilder moduleBuilder = OpBuilder::atBlockBegin(module.getBody());
    auto type =
        LLVM::LLVMArrayType::get(moduleBuilder.getI8Type(), bytes.size());
    global = LLVM::GlobalOp::create(
        moduleBuilder, loc, type, /*isConstant=*/true, LLVM::Linkage::Internal,
        unique, moduleBuilder.getStringAttr(bytes));
  }
  return LLVM::AddressOfOp::create(b, loc, global);
}

struct LowerAssert : public OpRewritePattern<cf::AssertOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(cf::AssertOp op,
                                PatternRewriter &rewriter) const override {
    auto module = op->getParentOfType<ModuleOp>();
    if (!module)
      return rewriter.notifyMatchFailure(op, "not inside a module");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    FailureOr<LLVM::LLVMFuncOp> hook = LLVM::lookupOrCreateFn(
        rewriter, module, kFailHook, {ptr}, LLVM::LLVMVoidType::get(ctx),
        /*isVarArg=*/true);
    if (failed(hook))
      return rewriter.notifyMatchFailure(op, "kiln_support_fail clashes");

    Block *before = op->getBlock();
    Block *after = rewriter.splitBlock(before, std::next(op->getIterator()));
    Block *failure = rewriter.createBlock(after);
    Value format = stringAddress(rewriter, loc, module, "kiln_assert_format",
                                 "%s", /*reuse=*/true);
    Value message = stringAddress(rewriter, loc, module, "kiln_assert_message",
                                  op.getMsg(), /*reuse=*/false);
    LLVM::CallOp::create(rewriter, loc, *hook, ValueRange{format, message});
    LLVM::UnreachableOp::create(rewriter, loc);

    rewriter.setInsertionPointToEnd(before);
    cf::CondBranchOp::create(rewriter, loc, op.getArg(), after, ValueRange{},
                             failure, ValueRange{});
    rewriter.eraseOp(op);
    return success();
  }
};

struct KilnLowerAssertsPass
    : public kiln::impl::KilnLowerAssertsBase<KilnLowerAssertsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateLowerAssertsPatterns(patterns);
    // Each assert keeps its own failure block, in program order.
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal()
        .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled)
        .enableFolding(false)
        .enableConstantCSE(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

void mlir::kiln::populateLowerAssertsPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAssert>(patterns.getContext());
}
