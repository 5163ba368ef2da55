//===- KilnOps.td - kiln operations ------------------------*- tablegen -*-===//
//
// Part of Kiln. Every op has value semantics on builtin ranked tensors, a
// declarative assembly format and a verifier that names the operand at fault
// and the shape it expected.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNOPS_TD
#define KILN_DIALECT_KILN_IR_KILNOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnAttrs.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Kiln_I32Tensor1D : 1DTensorOf<[I32]>;
def Kiln_IntTensor1D : 1DTensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def Kiln_ParamOp : Kiln_Op<"param", [Pure]> {
  let summary = "A named weight of the model's parameter file";
  let description = [{
    Names one tensor of the checkpoint (`model.safetensors`) by its key. The
    data never enters the IR: real models carry gigabytes of weights, and
    passes that need values (sparsity detection, quantization) read them from
    the parameter file at compile time. The result type is the tensor's
    shape and element type as the checkpoint stores it.

    With `transposed`, the op reads the transpose of the checkpoint's 2-D
    tensor (the result type is the transposed shape): passes use it to ask
    for weights in the layout their kernels want, and kiln-compile writes
    them so into the compiled model's weights file.

    With `panels p`, the (possibly transposed) 2-D tensor `[R, C]` is read
    cut into column panels: the result is `[ceil(C / p), R, p]`, panel `j`
    holding columns `j * p .. j * p + p - 1` row after row, so that a matmul
    kernel walking one panel reads contiguous memory. When `p` does not
    divide `C` (GPT-2's vocabulary of 50257), `columns C` says so: the last
    panel holds the `C mod p` remaining columns followed by zeros, which
    kernels compute and do not store, and kiln-compile checks `C` against
    the checkpoint. `columns` is present exactly when the last panel is
    partial.

    With `encoding e`, the op reads one part of a compressed sparse form of
    the checkpoint's 2-D `[out, in]` tensor, which kiln-compile computes
    when it writes the weights file (kiln-sparsify picks the form from the
    values): `bsrRxC.values` (`[blocks, R, C]`, the non-zero R x C blocks
    row of blocks after row of blocks), `bsrRxC.columns` (`[blocks]` i32,
    each block's block column), `bsrRxC.offsets` (`[out / R + 1]` i32, the
    first block of each block row), `2:4.values` (`[out, in / 2]`, two values
    of every group of four inputs) and `2:4.meta` (`[out, in / 8]` i8, the
    2-bit position in its group of each value, four to a byte, lowest bits
    first).

    ```mlir
    %w = kiln.param "model.layers.0.mlp.up_proj.weight" : tensor<11008x4096xf32>
    %wt = kiln.param "model.layers.0.mlp.up_proj.weight" transposed
        : tensor<4096x11008xf32>
    %wp = kiln.param "model.layers.0.mlp.up_proj.weight" transposed panels 64
        : tensor<172x4096x64xf32>
    %lm = kiln.param "lm_head.weight" transposed panels 24 columns 50257
        : tensor<2095x768x24xf32>
    ```

    With `concat [n1, ...]`, the op reads the tensor `name` with the rows
    (outermost dim) of `n1, ...` appended in order, as if the checkpoint
    held that concatenation: kiln-fuse-qkv and kiln-fuse-gated-ffn stack
    the `[out, in]` weights (and `[out]` biases) of projections that read
    one input this way, so that they run as one matmul. `transposed`,
    `panels` and `quant` then apply to the stacked tensor.

    ```mlir
    %wqkv = kiln.param "attn.q.weight" concat ["attn.k.weight", "attn.v.weight"]
        : tensor<384x128xf32>
    ```

    With `quant` (see `#kiln.quant`) and `part`, the op reads one tensor of
    the quantized form of the (possibly transposed) 2-D weight `[K, N]`,
    which kiln-compile computes from the checkpoint when it writes the
    weights file: `part <values>` the i8 values (`[K, N]`, or `[K / 2, N]`
    bytes of two int4 nibbles), `part <scales>` and `part <zero_points>` the
    f32 `[K / group, N]` scales and zero points. `panels` then cuts that
    tensor; the padding of a partial last panel is zero in every part, so
    it dequantizes to 0.

    ```mlir
    %q = kiln.param "fc.weight" transposed
        quant <bits = 4, group = 32, symmetric = true> part <values>
        : tensor<32x64xi8>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$transposed,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$panels,
                       OptionalAttr<Kiln_QuantAttr>:$quant,
                       OptionalAttr<Kiln_QuantPartAttr>:$part,
                       OptionalAttr<StrAttr>:$encoding,
                       OptionalAttr<StrArrayAttr>:$concat,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$columns);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $name (`concat` $concat^)? (`transposed` $transposed^)? (`panels` $panels^)?
    (`columns` $columns^)? (`quant` $quant^)? (`part` $part^)? (`encoding` $encoding^)? attr-dict
    `:` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when the op reads a checkpoint tensor as stored: no transpose,
    /// panels, quantized part, sparse encoding or stack.
    bool isPlain() {
      return !getTransposed() && !getPanels() && !getQuant() &&
             !getEncoding() && !getConcat();
    }

    /// The plain param defining `value`, or null.
    static ParamOp getPlainDefiningOp(Value value) {
      auto param = value ? value.getDefiningOp<ParamOp>() : nullptr;
      return param && param.isPlain() ? param : nullptr;
    }

    /// Every checkpoint tensor the op reads: `name`, then `concat`'s.
    SmallVector<StringRef> getSourceNames();

    /// A param reading plain `parts` (same element type and trailing dims)
    /// stacked along their first dim, or null when they cannot stack.
    static ParamOp createStacked(OpBuilder &builder, Location loc,
                                 ArrayRef<ParamOp> parts);
  }];
}

def Kiln_DequantizeOp : Kiln_Op<"dequantize", [Pure]> {
  let summary = "A weight-only quantized [K, N] weight, as f32";
  let description = [{
    The f32 weight `[K, N]` that `values`, `scales` and (for an asymmetric
    scheme) `zero_points` encode under `quant` (see `#kiln.quant`): element
    `(k, n)` is `(v(k, n) - z) * s` with `s = scales[k / group, n]` and `z`
    the zero point (`zero_points[k / group, n]`, 8 for symmetric int4, 0 for
    symmetric int8). kiln-quantize puts it between quantized params and the
    projection that reads the weight; the lowering of `kiln.linear` and
    `kiln.ffn` dequantizes inside the matmul, so the f32 matrix is never
    stored.

    ```mlir
    %w = kiln.dequantize %q scales %s quant <bits = 4, group = 32,
        symmetric = true>
        : (tensor<32x64xi8>, tensor<2x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins TensorOf<[I8]>:$values, TensorOf<[F32]>:$scales,
                       Optional<TensorOf<[F32]>>:$zero_points,
                       Kiln_QuantAttr:$quant);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $values `scales` $scales (`zero_points` $zero_points^)? `quant` $quant
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Token-wise ops
//===----------------------------------------------------------------------===//

def Kiln_EmbeddingOp : Kiln_Op<"embedding", [Pure]> {
  let summary = "Row gather from an embedding table";
  let description = [{
    `result[i..., :] = table[ids[i...], :]`. `table` is `[vocab, hidden]`;
    the result has the shape of `ids` followed by `hidden`. Out-of-range ids
    are a run-time error of the generated code, not undefined behaviour.

    ```mlir
    %h = kiln.embedding %table[%ids]
        : tensor<30522x768xf32>, tensor<?x?xi64> -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$table, Kiln_IntTensor:$ids);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Affine projection of the last dimension";
  let description = [{
    `result = input @ W^T + bias + residual` over the last dimension of
    `input`. The weight is `[out, in]` with `layout out_in` (the default, as
    `torch.nn.Linear` stores it) or `[in, out]` with `layout in_out` (GPT-2's
    `Conv1D`). `bias`, when present, is `[out]`; `residual`, when present,
    has the result's shape (kiln-fuse-epilogue moves a residual connection's
    add here, so that the matmul accumulates onto it). Leading dimensions
    are batch-like and may be dynamic.

    ```mlir
    %y = kiln.linear %x, %w bias %b
        : (tensor<?x?x768xf32>, tensor<3072x768xf32>, tensor<3072xf32>)
          -> tensor<?x?x3072xf32>
    %h = kiln.linear %a, %wo residual %x
        : (tensor<?x?x768xf32>, tensor<768x768xf32>, tensor<?x?x768xf32>)
          -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias,
                       Optional<Kiln_FloatTensor>:$residual,
                       DefaultValuedAttr<Kiln_WeightLayoutAttr,
                                         "WeightLayout::out_in">:$layout);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`residual` $residual^)?
    (`layout` $layout^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of input features (K) and output features (N) of the weight.
    int64_t getInFeatures();
    int64_t getOutFeatures();
  }];
}

def Kiln_BlockSparseLinearOp : Kiln_Op<"block_sparse_linear", [Pure]> {
  let summary = "kiln.linear with a block-sparse (BSR) weight";
  let description = [{
    `result = input @ W^T + bias` where the `[out, in]` weight `W` is given in
    block compressed sparse row form with R x C blocks (R output features by
    C input features): `values` `[blocks, R, C]` holds the stored blocks
    block row after block row, `columns` `[blocks]` the block column of
    each, and `offsets` `[out / R + 1]` where each block row's blocks start
    (the last entry is `blocks`). Blocks that are not stored are zero. The
    kernel loops over stored blocks only. kiln-sparsify makes this op from
    a `kiln.linear` whose weight has all-zero blocks.

    ```mlir
    %y = kiln.block_sparse_linear %x, %vals, %cols, %offs bias %b
        : (tensor<?x768xf32>, tensor<2304x16x16xf32>, tensor<2304xi32>,
           tensor<193xi32>, tensor<3072xf32>) -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$values,
                       Kiln_I32Tensor1D:$columns, Kiln_I32Tensor1D:$offsets,
                       Optional<Kiln_FloatTensor>:$bias);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $values `,` $columns `,` $offsets (`bias` $bias^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_SemiSparseLinearOp : Kiln_Op<"semi_sparse_linear", [Pure]> {
  let summary = "kiln.linear with a 2:4 semi-structured sparse weight";
  let description = [{
    `result = input @ W^T + bias` where every group of four consecutive
    input features of each row of the `[out, in]` weight `W` holds at most
    two non-zeros, given compressed: `values` `[out, in / 2]` (two values
    per group) and `meta` `[out, in / 8]` i8, the position (0-3) within its
    group of each value, 2 bits each, four values per byte from the lowest
    bits. `in` must be a multiple of 8. The kernel does half the
    multiply-adds of the dense one and reads half the weight bytes (plus
    1/16 for the metadata).

    ```mlir
    %y = kiln.semi_sparse_linear %x, %vals, %meta
        : (tensor<?x768xf32>, tensor<3072x384xf32>, tensor<3072x96xi8>)
          -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$values,
                       TensorOf<[I8]>:$meta, Optional<Kiln_FloatTensor>:$bias);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $values `,` $meta (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_FfnOp : Kiln_Op<"ffn", [Pure, AttrSizedOperandSegments]> {
  let summary = "Feed-forward block, plain or gated";
  let description = [{
    Plain (BERT, GPT-2): `down(act(up(x)))`. Gated, when `gate` is present
    (LLaMA's SwiGLU with `silu`, GeGLU with `gelu`):
    `down(act(gate(x)) * up(x))`. Each projection is a `kiln.linear` with the
    op's `layout` and its optional bias; `residual`, when present (the
    result's shape), is added to the result by the down projection (see
    kiln-fuse-epilogue). With `out_in` layout, `up` and
    `gate` are `[inter, hidden]` and `down` is `[hidden, inter]`.

    With `stacked_gate` (what kiln-fuse-gated-ffn makes), the op is gated
    and `up` holds the gate's weight and then up's stacked along the
    intermediate dim (`[2 * inter, hidden]` with `out_in`,
    `[hidden, 2 * inter]` with `in_out`), `up_bias` likewise: both run as
    one matmul whose first `inter` outputs are the gate's.

    ```mlir
    %y = kiln.ffn %x up %wu gate %wg down %wd activation <silu>
        : (tensor<?x?x4096xf32>, tensor<11008x4096xf32>,
           tensor<11008x4096xf32>, tensor<4096x11008xf32>)
          -> tensor<?x?x4096xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                       Kiln_FloatTensor:$up_weight,
                       Optional<Kiln_FloatTensor>:$gate_weight,
                       Kiln_FloatTensor:$down_weight,
                       Optional<Kiln_FloatTensor>:$up_bias,
                       Optional<Kiln_FloatTensor>:$gate_bias,
                       Optional<Kiln_FloatTensor>:$down_bias,
                       Optional<Kiln_FloatTensor>:$residual,
                       Kiln_ActivationAttr:$activation,
                       DefaultValuedAttr<Kiln_WeightLayoutAttr,
                                         "WeightLayout::out_in">:$layout,
                       UnitAttr:$stacked_gate);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `up` $up_weight (`stacked_gate` $stacked_gate^)?
    (`gate` $gate_weight^)? `down` $down_weight
    (`up_bias` $up_bias^)? (`gate_bias` $gate_bias^)?
    (`down_bias` $down_bias^)? (`residual` $residual^)? `activation` $activation
    (`layout` $layout^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True for the GLU family (SwiGLU, GeGLU): a gate projection exists,
    /// on its own or stacked into the up projection.
    bool isGated() {
      return static_cast<bool>(getGateWeight()) || getStackedGate();
    }
  }];
}

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * weight + bias` over the last
    dimension, with the biased variance as `torch.nn.LayerNorm` computes it.
    `weight` and `bias` are `[hidden]` and optional.

    ```mlir
    %y = kiln.layer_norm %x weight %g bias %b epsilon 1.0e-12
        : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>)
          -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                       Optional<Kiln_FloatTensor>:$weight,
                       Optional<Kiln_FloatTensor>:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)? `epsilon` $epsilon attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_RmsNormOp : Kiln_Op<"rms_norm", [Pure]> {
  let summary = "Root-mean-square normalization over the last dimension";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * weight` over the last dimension
    (LLaMA, Mamba). `weight` is `[hidden]`.

    ```mlir
    %y = kiln.rms_norm %x weight %g epsilon 1.0e-6
        : (tensor<?x?x4096xf32>, tensor<4096xf32>) -> tensor<?x?x4096xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `weight` $weight `epsilon` $epsilon attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_RopeOp : Kiln_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates pairs of the first `rotary_dim` elements of each head by
    `position * theta^(-2i / rotary_dim)`; the remaining elements pass
    through. `style` picks the pairs: `half` pairs `x[i]` with
    `x[i + rotary_dim / 2]` (GPT-NeoX, LLaMA), `interleaved` pairs `x[2i]`
    with `x[2i + 1]` (GPT-J). `input` is `[batch, seq, heads, head_dim]` with
    `positions` `[batch, seq]`, or packed `[tokens, heads, head_dim]` with
    `positions` `[tokens]`. `rotary_dim` defaults to `head_dim`.

    ```mlir
    %q2 = kiln.rope %q positions %pos theta 1.0e+04 style <half>
        : (tensor<?x?x32x128xf32>, tensor<?x?xi64>) -> tensor<?x?x32x128xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_IntTensor:$positions,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta,
                       OptionalAttr<I64Attr>:$rotary_dim,
                       DefaultValuedAttr<Kiln_RopeStyleAttr,
                                         "RopeStyle::half">:$style);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `positions` $positions `theta` $theta
    (`rotary_dim` $rotary_dim^)? (`style` $style^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of rotated elements per head (rotary_dim or head_dim).
    int64_t getEffectiveRotaryDim();
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

def Kiln_ActivationOp : Kiln_Op<"activation", [Pure, Elementwise,
                                               SameOperandsAndResultType]> {
  let summary = "Pointwise activation";
  let description = [{
    Applies `kind` to every element: `gelu` is the exact erf form,
    `gelu_tanh` the tanh approximation (GPT-2's `gelu_new`), `silu` is
    `x * sigmoid(x)`.

    ```mlir
    %y = kiln.activation <silu> %x : tensor<?x?x8192xf32>
    ```
  }];
  let arguments = (ins Kiln_ActivationAttr:$kind, Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($result)";
  let hasFolder = 1;
}

class Kiln_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure, Elementwise,
                                              SameOperandsAndResultType])> {
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Kiln_AddOp : Kiln_BinaryOp<"add", [Commutative]> {
  let summary = "Elementwise sum, as in residual connections";
  let description = [{
    ```mlir
    %h = kiln.add %x, %attn : tensor<?x?x768xf32>
    ```
  }];
}

def Kiln_MulOp : Kiln_BinaryOp<"mul", [Commutative]> {
  let summary = "Elementwise product, as in gating";
  let description = [{
    ```mlir
    %y = kiln.mul %x, %gate : tensor<?x?x1536xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Head reshapes
//===----------------------------------------------------------------------===//

def Kiln_SplitHeadsOp : Kiln_Op<"split_heads", [Pure]> {
  let summary = "Splits the last dimension into [heads, head_dim]";
  let description = [{
    `[..., heads * head_dim] -> [..., heads, head_dim]`, the view a
    projection's output takes before attention.

    ```mlir
    %q = kiln.split_heads %x heads 12
        : tensor<?x?x768xf32> -> tensor<?x?x12x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$num_heads);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `heads` $num_heads attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_MergeHeadsOp : Kiln_Op<"merge_heads", [Pure]> {
  let summary = "Merges the last two dimensions [heads, head_dim]";
  let description = [{
    `[..., heads, head_dim] -> [..., heads * head_dim]`, the inverse of
    `kiln.split_heads`.

    ```mlir
    %o = kiln.merge_heads %a : tensor<?x?x12x64xf32> -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Kiln_AttentionOp : Kiln_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "Scaled dot-product attention (MHA, GQA, MQA)";
  let description = [{
    `softmax(scale * Q K^T + mask) V` per head. Query head `h` reads KV head
    `h / (num_heads / num_kv_heads)`, so GQA and MQA need no repeated K/V.
    `scale` defaults to `1 / sqrt(head_dim)`.

    Layouts:
    * padded: `query` `[batch, q_len, num_heads, head_dim]`, `key` and
      `value` `[batch, kv_len, num_kv_heads, head_dim]`;
    * packed (variable length): `query` `[tokens, num_heads, head_dim]`,
      `key`/`value` `[tokens, num_kv_heads, head_dim]` and `cu_seqlens`
      `[batch + 1]` (i32, cumulative sequence starts, as FlashAttention's
      varlen API); sequence `b` owns tokens `cu_seqlens[b]` to
      `cu_seqlens[b + 1]` and attends within itself only.

    `key_mask` (`[batch, kv_len]`, non-zero = real token) hides padded keys;
    the `padding` mask kind requires it. A row whose keys are all hidden
    produces zeros, never NaN.

    KV cache (padded layout only): with `cache(%k_cache, %v_cache)` of shape
    `[batch, capacity, num_kv_heads, head_dim]` and `positions` `[batch]`
    (tokens already cached per sequence), the new `key`/`value` rows are
    written at `positions[b] + i`, queries sit at those absolute positions,
    keys `0 .. positions[b] + q_len - 1` are visible (subject to the mask),
    and the op also returns the two updated caches. `key_mask` then spans the
    capacity.

    ```mlir
    %o = kiln.attention %q, %k, %v heads 32 kv_heads 8 mask <causal>
        : (tensor<?x?x32x128xf32>, tensor<?x?x8x128xf32>,
           tensor<?x?x8x128xf32>) -> tensor<?x?x32x128xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                       Kiln_FloatTensor:$value,
                       Optional<RankedTensorOf<[AnySignlessInteger]>>:$key_mask,
                       Optional<Kiln_I32Tensor1D>:$cu_seqlens,
                       Optional<Kiln_FloatTensor>:$k_cache,
                       Optional<Kiln_FloatTensor>:$v_cache,
                       Optional<Kiln_IntTensor1D>:$positions,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_kv_heads,
                       OptionalAttr<F64Attr>:$scale,
                       DefaultValuedAttr<Kiln_MaskAttr,
                         "::mlir::kiln::MaskKind::none">:$mask,
                       DefaultValuedAttr<Kiln_SoftmaxAttr,
                         "::mlir::kiln::SoftmaxKind::standard">:$softmax);
  let results = (outs Kiln_FloatTensor:$output,
                      Variadic<Kiln_FloatTensor>:$updated_caches);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`key_mask` $key_mask^)?
    (`cu_seqlens` $cu_seqlens^)? (`cache` `(` $k_cache^ `,` $v_cache `)`)?
    (`positions` $positions^)? `heads` $num_heads `kv_heads` $num_kv_heads
    (`scale` $scale^)? (`mask` $mask^)? (`softmax` $softmax^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True for the variable-length layout (rank-3 Q/K/V + cu_seqlens).
    bool isPacked() { return getQuery().getType().getRank() == 3; }
    /// `scale` if set, else 1 / sqrt(head_dim).
    double getScaleOrDefault();
  }];
}

//===----------------------------------------------------------------------===//
// State-space ops
//===----------------------------------------------------------------------===//

def Kiln_SelectiveScanOp : Kiln_Op<"selective_scan",
                                   [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba's selective state-space scan";
  let description = [{
    For each channel `d` and state element `n`, with
    `delta = softplus(dt + dt_bias)` (softplus only under `dt_softplus`):

    ```
    h[t] = exp(delta[t, d] * A[d, n]) * h[t - 1] + delta[t, d] * B[t, n] * x[t, d]
    y[t, d] = sum_n C[t, n] * h[t][d, n] + D[d] * x[t, d]
    y[t, d] *= silu(z[t, d])          (when z is present)
    ```

    Padded layout: `x`, `dt`, `z` are `[batch, len, channels]`, `B` and `C`
    are `[batch, len, state]`. Packed layout: `[tokens, channels]` and
    `[tokens, state]` with `cu_seqlens` `[batch + 1]`; the state restarts at
    every sequence boundary. `A` is `[channels, state]` with a static state
    size; `D` and `dt_bias` are `[channels]`. `initial_state` and the
    optional second result `final_state` are `[batch, channels, state]`:
    together they carry the recurrent state across decode steps.

    ```mlir
    %y = kiln.selective_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db
        dt_softplus
        : (tensor<?x?x1536xf32>, tensor<?x?x1536xf32>, tensor<1536x16xf32>,
           tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<1536xf32>,
           tensor<?x?x1536xf32>, tensor<1536xf32>) -> tensor<?x?x1536xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$x, Kiln_FloatTensor:$dt,
                       Kiln_FloatTensor:$A, Kiln_FloatTensor:$B,
                       Kiln_FloatTensor:$C, Optional<Kiln_FloatTensor>:$D,
                       Optional<Kiln_FloatTensor>:$z,
                       Optional<Kiln_FloatTensor>:$dt_bias,
                       Optional<Kiln_I32Tensor1D>:$cu_seqlens,
                       Optional<Kiln_FloatTensor>:$initial_state,
                       UnitAttr:$dt_softplus);
  let results = (outs Kiln_FloatTensor:$y,
                      Optional<Kiln_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $B `,` $C (`D` $D^)? (`z` $z^)?
    (`dt_bias` $dt_bias^)? (`cu_seqlens` $cu_seqlens^)?
    (`initial_state` $initial_state^)? (`dt_softplus` $dt_softplus^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool isPacked() { return getX().getType().getRank() == 2; }
    /// The SSM state size N (static).
    int64_t getStateSize() { return getA().getType().getDimSize(1); }
  }];
}

def Kiln_CausalConv1dOp : Kiln_Op<"causal_conv1d",
                                  [Pure, AttrSizedOperandSegments]> {
  let summary = "Depthwise causal 1-D convolution over the sequence";
  let description = [{
    `y[t, c] = act(bias[c] + sum_k weight[c, k] * x[t - K + 1 + k, c])` with
    zeros (or `initial_state`) before the first token; `K` is the static
    kernel size, `weight` is `[channels, K]`. Padded layout: `x` is
    `[batch, len, channels]`; packed: `[tokens, channels]` with `cu_seqlens`
    `[batch + 1]`, and each sequence starts from zeros. `initial_state` and
    the optional second result `final_state` are `[batch, channels, K - 1]`,
    the last `K - 1` inputs of each sequence (Mamba's conv state).

    ```mlir
    %y = kiln.causal_conv1d %x, %w bias %b activation <silu>
        : (tensor<?x?x1536xf32>, tensor<1536x4xf32>, tensor<1536xf32>)
          -> tensor<?x?x1536xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias,
                       Optional<Kiln_I32Tensor1D>:$cu_seqlens,
                       Optional<Kiln_FloatTensor>:$initial_state,
                       DefaultValuedAttr<Kiln_ActivationAttr,
                                         "Activation::identity">:$activation);
  let results = (outs Kiln_FloatTensor:$result,
                      Optional<Kiln_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`cu_seqlens` $cu_seqlens^)?
    (`initial_state` $initial_state^)? (`activation` $activation^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool isPacked() { return getInput().getType().getRank() == 2; }
    /// The static kernel size K.
    int64_t getKernelSize() { return getWeight().getType().getDimSize(1); }
  }];
}

//===----------------------------------------------------------------------===//
// Variable-length packing
//===----------------------------------------------------------------------===//

def Kiln_PackOp : Kiln_Op<"pack", [Pure]> {
  let summary = "Removes padding: [batch, seq, ...] + lengths -> [tokens, ...]";
  let description = [{
    Concatenates the first `lengths[b]` rows of each sequence (the last ones
    with `side <left>`) into one `[tokens, ...]` tensor and returns it with
    `cu_seqlens` `[batch + 1]` (i32), the exclusive prefix sum of `lengths`.
    Token-wise ops then run on real tokens only (ByteTransformer).

    Canonicalization cancels a round trip: packing `kiln.unpack %p` again,
    with the lengths and over the padded length that produced its
    `cu_seqlens` and on the side it was unpacked to, gives `%p` and that
    `cu_seqlens` back.

    ```mlir
    %p, %cu = kiln.pack %x lengths %len
        : (tensor<?x?x768xf32>, tensor<?xi32>)
          -> (tensor<?x768xf32>, tensor<?xi32>)
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, Kiln_IntTensor1D:$lengths,
                       DefaultValuedAttr<Kiln_PaddingSideAttr,
                                         "PaddingSide::right">:$side);
  let results = (outs AnyRankedTensor:$packed, Kiln_I32Tensor1D:$cu_seqlens);
  let assemblyFormat = [{
    $input `lengths` $lengths (`side` $side^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Kiln_UnpackOp : Kiln_Op<"unpack", [Pure]> {
  let summary = "Restores padding: [tokens, ...] -> [batch, seq_len, ...]";
  let description = [{
    The inverse of `kiln.pack`: scatters the tokens of sequence `b` back to
    rows of a `[batch, seq_len, ...]` tensor whose padding positions are
    zero. `batch` is `dim(cu_seqlens) - 1`.

    ```mlir
    %y = kiln.unpack %p cu_seqlens %cu seq_len %s
        : (tensor<?x768xf32>, tensor<?xi32>, index) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$packed, Kiln_I32Tensor1D:$cu_seqlens,
                       Index:$seq_len,
                       DefaultValuedAttr<Kiln_PaddingSideAttr,
                                         "PaddingSide::right">:$side);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $packed `cu_seqlens` $cu_seqlens `seq_len` $seq_len (`side` $side^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_DIALECT_KILN_IR_KILNOPS_TD
