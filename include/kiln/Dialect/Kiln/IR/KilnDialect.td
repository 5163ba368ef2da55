//===- KilnDialect.td - The kiln dialect -------------------*- tablegen -*-===//
//
// Part of Kiln. Tensor-level ops for transformer-family models: attention,
// state-space scans, FFNs and the glue between them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNDIALECT_TD
#define KILN_DIALECT_KILN_IR_KILNDIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::mlir::kiln";
  let summary = "Tensor-level ops for transformer, state-space and FFN models";
  let description = [{
    The `kiln` dialect describes a model at the level a kernel writer thinks
    about it: an attention with its heads, mask and softmax variant; a Mamba
    selective scan with its state size; a gated FFN with its activation. Ops
    have value semantics on builtin `tensor` types whose batch and sequence
    dimensions are usually dynamic. Weights enter through `kiln.param`, which
    names a tensor of the parameter file instead of carrying its data.

    Ops carry what a kernel must know and nothing a later pass can derive:
    shapes come from operand types, and every op verifies that its operands
    agree with each other, naming the operand and the expected shape.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

/// Base class of every kiln op.
class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_DIALECT_KILN_IR_KILNDIALECT_TD
