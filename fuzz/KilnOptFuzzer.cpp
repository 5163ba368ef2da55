//===- KilnOptFuzzer.cpp - libFuzzer target for kiln IR parse + verify ----===//
//
// What kiln-opt does first with any file: parse it as a module with the
// kiln dialect and the upstream dialects kiln IR uses, then run every
// verifier. Invalid IR must end in a diagnostic, never a crash; the
// diagnostics themselves are dropped to keep the fuzzer fast.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <string>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context per input: a context accumulates uniqued types and
  // attributes, which the fuzzer would otherwise report as a leak.
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    r->insert<mlir::kiln::KilnDialect, arith::ArithDialect, func::FuncDialect,
              tensor::TensorDialect>();
    return r;
  }();
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  // MLIR's lexer stops at the NUL that files read through MemoryBuffer end
  // with; libFuzzer's bytes have none, so copy them into a std::string.
  std::string text(reinterpret_cast<const char *>(data), size);
  // The parser verifies the module it builds unless told otherwise; keep the
  // explicit verify() call so the verifiers run even if that default moves.
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(&context));
  if (module)
    (void)verify(*module);
  return 0;
}
