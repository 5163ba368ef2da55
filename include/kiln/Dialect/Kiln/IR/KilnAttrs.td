//===- KilnAttrs.td - kiln enums and attributes ------------*- tablegen -*-===//
//
// Part of Kiln. Enum attributes choose between kernel variants (activation,
// weight layout, rope style); the mask and softmax attributes carry the
// parameters of the attention variants.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNATTRS_TD
#define KILN_DIALECT_KILN_IR_KILNATTRS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Kiln_Activation : I32EnumAttr<"Activation", "pointwise activation", [
    I32EnumAttrCase<"identity", 0>,
    I32EnumAttrCase<"gelu", 1>,
    I32EnumAttrCase<"gelu_tanh", 2>,
    I32EnumAttrCase<"silu", 3>,
    I32EnumAttrCase<"relu", 4>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_ActivationAttr : EnumAttr<Kiln_Dialect, Kiln_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Pointwise activation: identity, gelu (erf), gelu_tanh, silu, relu";
}

def Kiln_WeightLayout : I32EnumAttr<"WeightLayout", "storage order of a 2-D weight", [
    I32EnumAttrCase<"out_in", 0>,
    I32EnumAttrCase<"in_out", 1>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_WeightLayoutAttr
    : EnumAttr<Kiln_Dialect, Kiln_WeightLayout, "weight_layout"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Weight storage: out_in ([N, K], torch.nn.Linear) or in_out "
                "([K, N], GPT-2 Conv1D)";
}

def Kiln_RopeStyle : I32EnumAttr<"RopeStyle", "pairing of rotated elements", [
    I32EnumAttrCase<"half", 0>,
    I32EnumAttrCase<"interleaved", 1>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_RopeStyleAttr : EnumAttr<Kiln_Dialect, Kiln_RopeStyle, "rope_style"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Rotary pairs: half (x[i], x[i + d/2], GPT-NeoX/LLaMA) or "
                "interleaved (x[2i], x[2i + 1], GPT-J)";
}

def Kiln_PaddingSide : I32EnumAttr<"PaddingSide", "where padding sits", [
    I32EnumAttrCase<"right", 0>,
    I32EnumAttrCase<"left", 1>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_PaddingSideAttr
    : EnumAttr<Kiln_Dialect, Kiln_PaddingSide, "padding_side"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Side of each padded row that holds the real tokens' padding";
}

def Kiln_MaskKind : I32EnumAttr<"MaskKind", "attention mask kind", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"causal", 1>,
    I32EnumAttrCase<"padding", 2>,
    I32EnumAttrCase<"sliding_window", 3>,
    I32EnumAttrCase<"block_sparse", 4>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_SoftmaxKind : I32EnumAttr<"SoftmaxKind", "softmax variant", [
    I32EnumAttrCase<"standard", 0>,
    I32EnumAttrCase<"clipped", 1>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_QuantPart : I32EnumAttr<"QuantPart", "part of a quantized weight", [
    I32EnumAttrCase<"values", 0>,
    I32EnumAttrCase<"scales", 1>,
    I32EnumAttrCase<"zero_points", 2>,
  ]> {
  let cppNamespace = "::mlir::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_QuantPartAttr : EnumAttr<Kiln_Dialect, Kiln_QuantPart, "quant_part"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "Which tensor of a quantized weight a param reads: the "
                "integer values, the per-group scales or the zero points";
}

//===----------------------------------------------------------------------===//
// Attributes with parameters
//===----------------------------------------------------------------------===//

class Kiln_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kiln_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Kiln_MaskAttr : Kiln_Attr<"Mask", "mask"> {
  let summary = "Which keys each query may attend to";
  let description = [{
    The attention mask, as a kind and the parameters the kind needs:

    * `#kiln.mask<none>`: every query sees every key (bidirectional).
    * `#kiln.mask<causal>`: query `i` sees keys `j <= i`.
    * `#kiln.mask<padding>`: bidirectional, and keys whose `key_mask` entry
      is zero are hidden; the attention must have a `key_mask` operand.
    * `#kiln.mask<sliding_window 4096>`: causal, and query `i` sees only keys
      `i - window < j <= i` (Mistral, Gemma, MASFormer's local layers).
    * `#kiln.mask<block_sparse block = 64, local = 3, global = 1>`: queries
      and keys are split into blocks of `block` tokens; query block `qb` sees
      key block `kb` when `|qb - kb| < local` or either block is one of the
      first `global` blocks (Longformer/BigBird-style local + global). Whole
      blocks are skipped, which is what makes the layout pay off.

    Positions are absolute: with a KV cache, query `i` is at
    `positions[b] + i`. A `key_mask` operand may accompany any kind and hides
    padded keys in addition to what the kind hides.
  }];
  let parameters = (ins "MaskKind":$kind,
                        DefaultValuedParameter<"int64_t", "0">:$window,
                        DefaultValuedParameter<"int64_t", "0">:$blockSize,
                        DefaultValuedParameter<"int64_t", "0">:$localBlocks,
                        DefaultValuedParameter<"int64_t", "0">:$globalBlocks);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let constBuilderCall = "::mlir::kiln::MaskAttr::get($_builder.getContext(), $0)";
  let builders = [
    AttrBuilder<(ins "MaskKind":$kind), [{
      return $_get($_ctxt, kind, 0, 0, 0, 0);
    }]>
  ];
  let extraClassDeclaration = [{
    /// True when query i never sees a key j > i.
    bool isCausal() const {
      return getKind() == MaskKind::causal ||
             getKind() == MaskKind::sliding_window;
    }
  }];
}

def Kiln_SoftmaxAttr : Kiln_Attr<"Softmax", "softmax"> {
  let summary = "Softmax variant of an attention";
  let description = [{
    * `#kiln.softmax<standard>`: `softmax(s)`.
    * `#kiln.softmax<clipped zeta = 1.003, gamma = -0.003>`: the clipped
      softmax of "Quantizable Transformers" (Bondarenko et al., 2023),
      `clamp((zeta - gamma) * softmax(s) + gamma, 0, 1)`, which lets a head
      output exact zeros and so keeps activations free of outliers.
      Requires `zeta >= 1` and `gamma <= 0`.
  }];
  let parameters = (ins "SoftmaxKind":$kind,
                        APFloatParameter<"stretch factor zeta">:$zeta,
                        APFloatParameter<"offset gamma">:$gamma);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let constBuilderCall = "::mlir::kiln::SoftmaxAttr::get($_builder.getContext(), "
                         "$0, ::llvm::APFloat(1.0), ::llvm::APFloat(0.0))";
  let extraClassDeclaration = [{
    /// The standard softmax (zeta = 1, gamma = 0).
    static SoftmaxAttr getStandard(::mlir::MLIRContext *context);
  }];
}

def Kiln_QuantAttr : Kiln_Attr<"Quant", "quant"> {
  let summary = "Weight-only quantization scheme of a [K, N] weight";
  let description = [{
    Round-to-nearest quantization of a weight read as `[K, N]` (input
    features by output features), in groups of `group` consecutive input
    features per output feature: each group has one f32 scale `s` and, when
    not `symmetric`, one zero point `z` (an integer, stored as f32). A group
    as long as K is per-output-channel quantization.

    * `bits = 8`: values are i8. Symmetric: `q = clamp(rint(w / s), -127,
      127)` with `s = max|w| / 127`, `w ~ q * s`. Asymmetric: `s = (max(w, 0)
      - min(w, 0)) / 255`, `z = clamp(rint(-128 - min(w, 0) / s), -128,
      127)`, `q = clamp(rint(w / s) + z, -128, 127)`, `w ~ (q - z) * s`.
    * `bits = 4`: unsigned nibbles `u` in 0..15, two per byte along K (row
      `2i` in the low nibble, row `2i + 1` in the high nibble of byte row
      `i`). Symmetric: `s = max|w| / 7`, `u = clamp(rint(w / s), -7, 7) + 8`,
      `w ~ (u - 8) * s`. Asymmetric: `s = (max(w, 0) - min(w, 0)) / 15`,
      `z = clamp(rint(-min(w, 0) / s), 0, 15)`, `u = clamp(rint(w / s) + z,
      0, 15)`, `w ~ (u - z) * s`.

    A group of zeros gets `s = 1`. All arithmetic is f32 and `rint` rounds
    half to even.

    ```mlir
    #kiln.quant<bits = 8, group = 4096, symmetric = true>   // int8 per channel
    #kiln.quant<bits = 4, group = 128, symmetric = false>   // int4 g128 asym
    ```
  }];
  let parameters = (ins "int64_t":$bits, "int64_t":$group, "bool":$symmetric);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Quantized values per stored byte along K (2 for int4, else 1).
    int64_t getValuesPerByte() const { return getBits() == 4 ? 2 : 1; }
  }];
}

#endif // KILN_DIALECT_KILN_IR_KILNATTRS_TD
