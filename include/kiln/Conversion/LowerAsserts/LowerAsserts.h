//===- LowerAsserts.h - cf.assert to execution errors -----------*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONVERSION_LOWERASSERTS_LOWERASSERTS_H
#define KILN_CONVERSION_LOWERASSERTS_LOWERASSERTS_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace kiln {

#define GEN_PASS_DECL_KILNLOWERASSERTS
#include "kiln/Conversion/Passes.h.inc"

/// Adds the pattern rewriting `cf.assert` into a branch to a call of
/// `kiln_support_fail`.
void populateLowerAssertsPatterns(RewritePatternSet &patterns);

} // namespace kiln
} // namespace mlir

#endif // KILN_CONVERSION_LOWERASSERTS_LOWERASSERTS_H
