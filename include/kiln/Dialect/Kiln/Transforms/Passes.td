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

def KilnFuseQkv : Pass<"kiln-fuse-qkv", "func::FuncOp"> {
  let summary = "Run projections of one input as one matmul";
  let description = [{
    Attention's query, key and value projections (and any other
    `kiln.linear`s that read the same value) each stream the input once and,
    on the CPU, run as their own parallel loop; a decode step, one token,
    pays the fork and join of every one. This pass stacks the weights of
    all `kiln.linear`s of one block that read the same input with
    `layout <out_in>` and plain `kiln.param` weights of one input size
    (and biases: all or none) into one param with `concat`, which
    kiln-compile writes as one tensor, runs one `kiln.linear` with the
    summed output size, and gives each former projection its columns with a
    `tensor.extract_slice`. The stacked linear sits where the first of them
    was.

    ```mlir
    %q = kiln.linear %x, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    %k = kiln.linear %x, %wk : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
    // becomes
    %w = kiln.param "q.weight" concat ["k.weight"] : tensor<96x64xf32>
    %qk = kiln.linear %x, %w : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
    %q = tensor.extract_slice %qk[0, 0] [%n, 64] [1, 1] : ...
    %k = tensor.extract_slice %qk[0, 64] [%n, 32] [1, 1] : ...
    ```

    kiln-compile runs it by default (`--no-fuse-qkv` turns it off).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def KilnFuseGatedFfn : Pass<"kiln-fuse-gated-ffn", "func::FuncOp"> {
  let summary = "Run a gated FFN's gate and up projections as one matmul";
  let description = [{
    A gated `kiln.ffn` (SwiGLU, GeGLU) projects its input twice, by `gate`
    and by `up`. When both weights (and biases, if any) are plain
    `kiln.param`s in `layout <out_in>`, this pass stacks them, gate first,
    into one param with `concat` and sets the op's `stacked_gate`: the
    lowering then runs a single matmul of twice the intermediate size, and
    the activation and gate product read its two halves.

    ```mlir
    %y = kiln.ffn %x up %wu gate %wg down %wd activation <silu> : ...
    // becomes
    %wgu = kiln.param "mlp.gate_proj.weight" concat ["mlp.up_proj.weight"]
        : tensor<704x128xf32>
    %y = kiln.ffn %x up %wgu stacked_gate down %wd activation <silu> : ...
    ```

    kiln-compile runs it by default (`--no-fuse-gated-ffn` turns it off).
  }];
}

def KilnFuseEpilogue : Pass<"kiln-fuse-epilogue", "func::FuncOp"> {
  let summary = "Add residual connections inside the projection's matmul";
  let description = [{
    A residual connection `kiln.add %x, %proj` after a projection (a
    `kiln.linear`, or a `kiln.ffn`'s down projection) reads and writes the
    whole `[tokens, hidden]` tensor once more after the matmul wrote it,
    and on the CPU runs as a parallel loop of its own. When the projection
    has no other user and no residual yet, and `%x` is available where the
    projection runs, this pass makes `%x` the projection's `residual`: the
    lowering starts the matmul's accumulators from `%x` (plus the bias), so
    each output tile is initialized in cache and accumulated onto, and the
    add disappears.

    ```mlir
    %o = kiln.linear %a, %wo bias %bo : ...
    %h = kiln.add %x, %o : tensor<?x?x768xf32>
    // becomes
    %h = kiln.linear %a, %wo bias %bo residual %x : ...
    ```

    Off by default in kiln-compile (`--fuse-epilogue` turns it on): with
    each layer's matmul accumulating onto the layer before, one-shot
    bufferization's subset analysis (ValueBoundsConstraintSet) follows the
    chain back through every layer, and compile time grows with depth
    squared (a 4-layer GPT-2: 60 s instead of 30 s; 12 layers did not
    finish in 20 minutes). Activations stay where the lowering puts them:
    in the FFN, one pass over the intermediate tensor.
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
    `{name, source, transposed, panels, encoding, offset, type}` dictionaries
    that `kiln-compile` follows when it writes the weights file: `source` is
    the checkpoint's tensor, `name` the tensor in the weights file (`source`,
    with `:T` for a transposed read, `:P<n>` for one cut into panels and
    `:<encoding>` for a part of a sparse form; `panels` is 0 and `encoding`
    empty for none). The same param read with two
    different types is an error. A param of a quantized weight
    (kiln-quantize) adds `quant` (its `#kiln.quant` scheme) and `part`
    (`values`, `scales` or `zero_points`) to its entry, and
    `:Q<bits>g<group><s|a>:<part>` to its name. A stacked param (`concat`)
    adds `concat`, the names stacked after `source`, and `+<name>` for
    each to its name. Panels whose last one is partial add `columns`.

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

def KilnQuantize : Pass<"kiln-quantize", "func::FuncOp"> {
  let summary = "Weight-only int8/int4 quantization of projection weights";
  let description = [{
    Reads the f32 weights of `kiln.linear` and `kiln.ffn` ops with
    `layout <in_out>` (run kiln-pretranspose-weights first) in quantized
    form: each weight `kiln.param` becomes params of its quantized `values`,
    `scales` and (asymmetric) `zero_points` (see `#kiln.quant`), combined by
    a `kiln.dequantize` that the projection reads. kiln-compile computes the
    quantized tensors from the checkpoint when it writes the weights file
    (round to nearest, no calibration data); the projection's lowering
    dequantizes inside its matmul tiles.

    `weights=int8` quantizes per output channel unless `group` is set;
    `weights=int4` uses groups of `group` input features (128 by default),
    two values per byte. A group that does not divide a weight's input
    features is an error. Weights whose name matches one of the `skip` glob
    patterns keep f32.

    ```mlir
    %w = kiln.param "fc.weight" transposed : tensor<64x32xf32>
    %y = kiln.linear %x, %w layout <in_out> : ...
    // becomes, with weights=int4 group=32:
    %q = kiln.param "fc.weight" transposed
        quant <bits = 4, group = 32, symmetric = true> part <values>
        : tensor<32x32xi8>
    %s = kiln.param "fc.weight" transposed
        quant <bits = 4, group = 32, symmetric = true> part <scales>
        : tensor<2x32xf32>
    %d = kiln.dequantize %q scales %s quant <bits = 4, group = 32,
        symmetric = true> : (tensor<32x32xi8>, tensor<2x32xf32>)
        -> tensor<64x32xf32>
    %y = kiln.linear %x, %d layout <in_out> : ...
    ```
  }];
  let options = [
    Option<"weights", "weights", "std::string", /*default=*/"\"int8\"",
           "Weight format: int8 or int4">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Input features per scale (0: per output channel for int8, 128 "
           "for int4)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric (no zero points) or asymmetric quantization">,
    ListOption<"skip", "skip", "std::string",
               "Glob patterns of weight names to keep in f32">,
  ];
}

def KilnRemovePadding : Pass<"kiln-remove-padding", "func::FuncOp"> {
  let summary = "Run token-wise work on the real tokens only (varlen form)";
  let description = [{
    Applies to a function with an argument named `mask` (`kiln.name`,
    `attention_mask` by default): an integer `[batch, seq]` tensor, non-zero
    at real tokens. Once at entry, the pass computes each sequence's length
    from the mask and checks at run time that every row is right-padded
    (`1 ... 1 0 ... 0`) or every row left-padded (`0 ... 0 1 ... 1`); any
    other mask stops the call with an execution error naming the rule. It
    then packs the `[batch, seq, ...]` inputs into `[tokens, ...]` with
    `kiln.pack` (each row's real tokens first rotated to its front, so that
    both sides pack alike), runs every token-wise op (`embedding`, `linear`,
    `ffn`, the norms, `rope`, elementwise ops, head reshapes, slices of the
    feature dims, `linalg.generic`s that are parallel over batch and
    sequence) on packed tokens, runs attention, `causal_conv1d` and
    `selective_scan` in their variable-length forms with `cu_seqlens`
    (attention within each sequence, convolution and scan state restarting
    at each sequence), and `kiln.unpack`s the results on return, on the
    input's side (`scf.if` picks it): padding positions of the outputs are
    zero.

    Values that the function computes from positions rather than from tokens
    (position ids made by `tensor.generate`, say) are packed where they
    enter token-wise ops, so every token keeps the position it had in its
    padded row, for left padding too.

    The packed function computes each real token from the real tokens of
    its own sequence. That is the padded function's result wherever padding
    could not reach real tokens there: attention whose `key_mask` is the
    mask, and causal ops (causal attention, `causal_conv1d`,
    `selective_scan`) with right padding, or with left padding when their
    inputs are zero at padded positions (as Hugging Face's Mamba masks
    them). A function is rewritten as a whole or not at all: one that uses
    token tensors in any other way (an attention with another key mask or
    none while bidirectional, a block-sparse mask, a KV cache, an initial or
    returned recurrent state, an op the pass does not know) is left padded,
    with a remark naming the op.

    ```mlir
    %h = kiln.embedding %table[%ids] : ... -> tensor<?x?x768xf32>
    %a = kiln.attention %q, %k, %v key_mask %mask heads 12 kv_heads 12
        mask <padding> : ...
    // becomes, with %len, %right (the side) and %cu computed once at entry:
    %front = tensor.generate ... // %ids, real tokens rotated to the front
    %pids, %c = kiln.pack %front lengths %len
        : (tensor<?x?xi64>, tensor<?xi32>) -> (tensor<?xi64>, tensor<?xi32>)
    %h = kiln.embedding %table[%pids] : ... -> tensor<?x768xf32>
    %a = kiln.attention %pq, %pk, %pv cu_seqlens %cu heads 12 kv_heads 12
        : (tensor<?x12x64xf32>, ...) -> tensor<?x12x64xf32>
    ...
    %out = scf.if %right -> (tensor<?x?x768xf32>) {
      %u = kiln.unpack %last cu_seqlens %cu seq_len %seq : ...
      scf.yield %u : tensor<?x?x768xf32>
    } else { ... side <left> ... }
    ```
  }];
  let options = [
    Option<"maskName", "mask", "std::string", /*default=*/"\"attention_mask\"",
           "kiln.name of the argument whose zeros mark padding">,
    Option<"encodersOnly", "encoders-only", "bool", /*default=*/"false",
           "Rewrite only functions whose tokens mix bidirectionally (no "
           "causal attention, convolution or scan)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def KilnSparsify : Pass<"kiln-sparsify", "ModuleOp"> {
  let summary = "Use 2:4 or block-sparse kernels where the weights' zeros pay";
  let description = [{
    Reads the value of every `kiln.linear` weight (and each projection of a
    `kiln.ffn`) that is a plain 2-D `[out, in]` `kiln.param`, from the
    checkpoint named by `weights`, and measures its structure: whether it is
    exactly 2:4 sparse (at most 2 non-zeros in every group of 4 inputs) and
    which fraction of R x C blocks holds a non-zero. Where the chosen form
    applies, the op becomes `kiln.semi_sparse_linear` (2:4) or
    `kiln.block_sparse_linear` (BSR); its weight becomes the compressed
    parts (`kiln.param ... encoding "..."`) that kiln-compile writes into the
    weights file. A `kiln.ffn` with a sparse projection is split into its
    projections, activation and gate product first.

    `mode`:
    - `off`: nothing changes.
    - `2:4`: every weight that is exactly 2:4 becomes 2:4; others stay dense.
    - `block`: every weight whose fraction of all-zero `block` blocks is at
      least `min-sparsity` becomes BSR.
    - `auto`: for each weight, the cost model below predicts the time of each
      form that applies (2:4 when exact; BSR with `block`, or with each of
      16x16, 4x4 and 1x16 when `block` is empty) relative to the dense
      kernel; the fastest form is used if it beats dense by at least 10%,
      and, for BSR, if the block sparsity is at least `min-sparsity`.

    Cost model (time relative to Kiln's dense kernel on the same layer,
    fitted to bench/sparsity.py --cpu-time: Linear M=1024 x N=3072 x K=768,
    one thread, 2-core AMD EPYC with AVX2): BSR `t = a * d + 0.2` with `d`
    the fraction of stored blocks and `a` = 1.2 for 16x16, 3.1 for 4x4, 5.8
    for 1x16 (16x16 measured 0.80 / 0.47 / 0.32 at d = 0.5 / 0.25 / 0.1);
    2:4 `t = 1.8` (measured), so `auto` does not pick 2:4 on this CPU. See
    docs/Sparsity.md.

    The module gets `kiln.sparsity`: one `{weight, form, density,
    block_density}` dictionary per weight looked at (`form` is `dense`,
    `2:4` or `bsrRxC`; `density` the fraction of non-zero elements;
    `block_density` the fraction of stored blocks of the BSR form chosen or
    considered, -1 if none), which kiln-compile copies into model.json.

    ```mlir
    %w = kiln.param "fc.weight" : tensor<64x32xf32>
    %y = kiln.linear %x, %w : (tensor<?x32xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
    // becomes, for a 2:4 weight:
    %v = kiln.param "fc.weight" encoding "2:4.values" : tensor<64x16xf32>
    %m = kiln.param "fc.weight" encoding "2:4.meta" : tensor<64x4xi8>
    %y = kiln.semi_sparse_linear %x, %v, %m : ...
    ```
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"off\"",
           "auto, 2:4, block or off">,
    Option<"block", "block", "std::string", /*default=*/"\"\"",
           "Block shape RxC (R output by C input features) for BSR; empty: "
           "16x16 in block mode, several in auto mode">,
    Option<"minSparsity", "min-sparsity", "double", /*default=*/"0.5",
           "Least fraction of all-zero blocks for BSR (0 to 1)">,
    Option<"weights", "weights", "std::string", /*default=*/"\"\"",
           "The checkpoint the kiln.param ops name (.safetensors file, "
           "index or folder)">,
  ];
  let dependentDialects = [];
}

#endif // KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
