//===- Passes.td - kiln transformation passes --------------*- tablegen -*-===//
//
// Part of Kiln. Passes that rewrite kiln ops into other kiln ops (fusion,
// padding removal, quantization, sparsity) and that prepare a kiln module
// for code generation.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
#define KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnPretransposeWeights : Pass<"kiln-pretranspose-weights",
                                   "func::FuncOp"> {
  let summary = "Ask for projection weights in [in, out] layout";
  let description = [{
    A matmul kernel that walks the output features innermost wants the
    weight as `[in, out]` rows, but checkpoints store `torch.nn.Linear`
    weights as `[out, in]`. For every `kiln.linear` and `kiln.ffn` with
    `layout <out_in>` whose weights are all `kiln.param`s, this pass reads
    the params `transposed` instead and switches the op to
    `layout <in_out>`: the transpose happens once, when kiln-compile writes
    the weights file, not at run time.

    ```mlir
    %w = kiln.param "fc.weight" : tensor<32x16xf32>
    %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<?x32xf32>
    // becomes
    %wt = kiln.param "fc.weight" transposed : tensor<16x32xf32>
    %y = kiln.linear %x, %wt layout <in_out> : ...
    ```
  }];
}

def KilnBindParams : Pass<"kiln-bind-params", "ModuleOp"> {
  let summary = "Bind kiln.param ops to views of one weights buffer";
  let description = [{
    Plans the weights file: every distinct `kiln.param` name gets an offset
    (aligned to `alignment` bytes, in order of first use) in one byte buffer.
    Every public function gains a leading `memref<?xi8>` argument holding
    that buffer (the mmapped data section of `model.weights.safetensors` at
    run time), and each `kiln.param` becomes a `memref.view` of it wrapped in
    a `bufferization.to_tensor restrict`: the weights are read in place,
    never copied.

    The plan is recorded on the module as `kiln.weights`, an array of
    `{name, source, transposed, panels, offset, type}` dictionaries that
    `kiln-compile` follows when it writes the weights file: `source` is the
    checkpoint's tensor, `name` the tensor in the weights file (`source`,
    with `:T` for a transposed read and `:P<n>` for one cut into panels;
    `panels` is 0 for none). The same param read with two
    different types is an error.

    ```mlir
    %w = kiln.param "fc.weight" : tensor<8x4xf32>
    // becomes, with %weights the new first argument:
    %c0 = arith.constant 0 : index
    %v = memref.view %weights[%c0][] : memref<?xi8> to memref<8x4xf32>
    %w = bufferization.to_tensor %v restrict : memref<8x4xf32> to tensor<8x4xf32>
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every weight in the buffer">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

#endif // KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
