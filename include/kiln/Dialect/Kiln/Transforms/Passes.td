//===- Passes.td - kiln transformation passes --------------*- tablegen -*-===//
//
// Part of Kiln. Passes that rewrite kiln ops into other kiln ops (fusion,
// padding removal, quantization, sparsity). Lowerings out of the dialect
// live in kiln/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
#define KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

#endif // KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
