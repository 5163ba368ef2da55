//===- KilnToLinalg.h - Lower kiln ops to linalg ----------------*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONVERSION_KILNTOLINALG_KILNTOLINALG_H
#define KILN_CONVERSION_KILNTOLINALG_KILNTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace kiln {

#define GEN_PASS_DECL_KILNLOWERTOLINALG
#include "kiln/Conversion/Passes.h.inc"

/// Adds one pattern per kiln op (all but kiln.param) lowering it to
/// linalg/tensor/arith/math/scf.
void populateKilnToLinalgPatterns(RewritePatternSet &patterns,
                                  bool flashAttention = true);

} // namespace kiln
} // namespace mlir

#endif // KILN_CONVERSION_KILNTOLINALG_KILNTOLINALG_H
