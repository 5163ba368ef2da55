//===- Passes.td - Conversions out of the kiln dialect -----*- tablegen -*-===//
//
// Part of Kiln. Lowerings from kiln ops to upstream dialects.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnLowerToLinalg : Pass<"kiln-lower-to-linalg", "func::FuncOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith, math and scf";
  let description = [{
    Rewrites every kiln op except `kiln.param` into upstream tensor-level
    IR: projections become `linalg.matmul`s on the collapsed leading dims,
    pointwise ops become `linalg.generic`s, and the ops with sequential or
    data-dependent structure (attention, selective scan, causal conv1d, the
    variable-length forms, pack/unpack) become explicit `scf` loops over
    `tensor` slices. `kiln.param` stays: it names a weight, and turning it
    into an argument is the job of the compile pipeline.

    Reductions (norms, attention scores and softmax, scan and conv sums)
    accumulate in f32 when the storage type is narrower. Embedding ids are
    clamped into `[0, vocab)` and pack lengths into `[0, seq_len]`, so
    malformed inputs never read or write out of bounds.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // KILN_CONVERSION_PASSES_TD
