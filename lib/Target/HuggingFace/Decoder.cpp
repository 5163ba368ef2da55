//===- Decoder.cpp - Import LlamaForCausalLM and GPT2LMHeadModel ----------===//
//
// Both are decoder-only language models, so one skeleton builds their three
// entries (forward, prefill, decode_step) and differs only in how a family
// embeds tokens, runs a layer and projects to logits. The KV cache of all
// layers travels as two `[layers, batch, capacity, kv_heads, head_dim]`
// tensors so that the entries' signatures do not grow with the depth.
//
//===----------------------------------------------------------------------===//

#include "ModelBuilder.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// Attention of one layer in the entry being built, given Q `[batch, seq,
/// heads, head_dim]` and K/V `[batch, seq, kv_heads, head_dim]`.
using AttendFn = function_ref<Value(int64_t layer, Value q, Value k, Value v)>;

/// What a decoder family contributes to the shared skeleton.
class DecoderFamily {
public:
  virtual ~DecoderFamily() = default;
  /// Token (and position) embeddings: `[batch, seq, hidden]`.
  virtual Value embed(ModelBuilder &mb, Value ids, Value positionIds) = 0;
  /// Decoder layer `layer`.
  virtual Value layer(ModelBuilder &mb, int64_t layer, Value x,
                      Value positionIds, AttendFn attend) = 0;
  /// Final norm and language-model head: `[batch, seq, vocab]`.
  virtual Value logits(ModelBuilder &mb, Value x) = 0;

  int64_t vocab = 1, hidden = 1, layers = 1, heads = 1, kvHeads = 1,
          headDim = 1;
};

enum class EntryKind { Forward, Prefill, DecodeStep };

/// Builds forward, prefill and decode_step.
void buildDecoderEntries(ModelBuilder &mb, DecoderFamily &family) {
  auto &b = mb.builder();
  RankedTensorType idsType = mb.i64({kDyn, kDyn});
  RankedTensorType logitsType = mb.f32({kDyn, kDyn, family.vocab});
  RankedTensorType cacheType = mb.f32(
      {family.layers, kDyn, kDyn, family.kvHeads, family.headDim});
  TensorSpec ids{"input_ids", idsType, {"batch", "seq"}};
  TensorSpec logits{"logits", logitsType, {"batch", "seq", ""}};
  SmallVector<std::string> cacheDims = {"", "batch", "capacity", "", ""};
  TensorSpec keyCache{"key_cache", cacheType, cacheDims};
  TensorSpec valueCache{"value_cache", cacheType, cacheDims};

  for (EntryKind kind :
       {EntryKind::Forward, EntryKind::Prefill, EntryKind::DecodeStep}) {
    SmallVector<Value> args;
    Value mask, start, kCache, vCache;
    switch (kind) {
    case EntryKind::Forward:
      args = mb.beginEntry(
          "forward", {ids, {"attention_mask", idsType, {"batch", "seq"}}},
          {logits});
      mask = args[1];
      break;
    case EntryKind::Prefill:
      args = mb.beginEntry("prefill", {ids, keyCache, valueCache},
                           {logits, keyCache, valueCache});
      kCache = args[1];
      vCache = args[2];
      start = mb.zerosI64(args[0]);
      break;
    case EntryKind::DecodeStep:
      args = mb.beginEntry(
          "decode_step",
          {ids, {"positions", mb.i64({kDyn}), {"batch"}}, keyCache, valueCache},
          {logits, keyCache, valueCache});
      start = args[1];
      kCache = args[2];
      vCache = args[3];
      break;
    }
    Value positionIds = mb.positionIds(args[0], start);
    auto attend = [&](int64_t layer, Value q, Value k, Value v) -> Value {
      IntegerAttr heads = b.getI64IntegerAttr(family.heads);
      IntegerAttr kvHeads = b.getI64IntegerAttr(family.kvHeads);
      auto causal = MaskAttr::get(b.getContext(), MaskKind::causal);
      if (!kCache)
        return AttentionOp::create(b, q.getType(), TypeRange{}, q, k, v, mask,
                                   Value(), Value(), Value(), Value(), heads,
                                   kvHeads, FloatAttr(), causal)
            .getOutput();
      Value layerK = mb.extractLayer(kCache, layer);
      Value layerV = mb.extractLayer(vCache, layer);
      auto op = AttentionOp::create(
          b, q.getType(), TypeRange{layerK.getType(), layerV.getType()}, q, k,
          v, Value(), Value(), layerK, layerV, start, heads, kvHeads,
          FloatAttr(), causal);
      kCache = mb.insertLayer(op.getUpdatedCaches()[0], kCache, layer);
      vCache = mb.insertLayer(op.getUpdatedCaches()[1], vCache, layer);
      return op.getOutput();
    };
    Value x = family.embed(mb, args[0], positionIds);
    for (int64_t l = 0; l < family.layers; ++l)
      x = family.layer(mb, l, x, positionIds, attend);
    Value result = family.logits(mb, x);
    if (kind == EntryKind::Forward)
      mb.endEntry(result);
    else
      mb.endEntry({result, kCache, vCache});
  }
}

//===----------------------------------------------------------------------===//
// LLaMA
//===----------------------------------------------------------------------===//

class Llama : public DecoderFamily {
public:
  explicit Llama(ModelBuilder &mb) {
    Config &config = mb.getConfig();
    vocab = config.getPositive("vocab_size");
    hidden = config.getPositive("hidden_size");
    layers = config.getPositive("num_hidden_layers");
    heads = config.getPositive("num_attention_heads");
    kvHeads = config.getPositive("num_key_value_heads", heads);
    inter = config.getPositive("intermediate_size");
    config.requireDivisible("num_attention_heads", heads,
                            "num_key_value_heads", kvHeads);
    if (!config.has("head_dim"))
      config.requireDivisible("hidden_size", hidden, "num_attention_heads",
                              heads);
    headDim = config.getPositive("head_dim", hidden / std::max<int64_t>(heads, 1));
    eps = config.getFloat("rms_norm_eps", 1e-6);
    theta = config.getFloat("rope_theta", 10000.0);
    attentionBias = config.getBool("attention_bias", false);
    mlpBias = config.getBool("mlp_bias", false);
    tied = config.getBool("tie_word_embeddings", false);
    std::string act = config.getString("hidden_act", "silu");
    if (act != "silu")
      config.fail("hidden_act", "is '" + act + "'; LLaMA's MLP is SwiGLU "
                                              "(silu)");
    config.requireAbsent("rope_scaling", "RoPE scaling");
    if (config.getError())
      return;
    prefix = mb.detectPrefix({"model.", ""}, "embed_tokens.weight");
  }

  Value embed(ModelBuilder &mb, Value ids, Value) override {
    return mb.embedding(
        mb.param(prefix + "embed_tokens.weight", {vocab, hidden}), ids);
  }

  Value layer(ModelBuilder &mb, int64_t l, Value x, Value positionIds,
              AttendFn attend) override {
    auto &b = mb.builder();
    std::string p = prefix + "layers." + std::to_string(l) + ".";
    auto project = [&](const std::string &name, Value input, int64_t out,
                       int64_t in, bool bias) {
      Value w = mb.param(p + name + ".weight", {out, in});
      return mb.linear(input, w,
                       bias ? mb.param(p + name + ".bias", {out}) : Value());
    };
    auto rope = [&](Value input) -> Value {
      return RopeOp::create(b, input.getType(), input, positionIds,
                            llvm::APFloat(theta), IntegerAttr(),
                            RopeStyle::half);
    };
    Value n = mb.rmsNorm(
        x, mb.param(p + "input_layernorm.weight", {hidden}), eps);
    Value q = rope(mb.splitHeads(
        project("self_attn.q_proj", n, heads * headDim, hidden, attentionBias),
        heads));
    Value k = rope(mb.splitHeads(project("self_attn.k_proj", n,
                                         kvHeads * headDim, hidden,
                                         attentionBias),
                                 kvHeads));
    Value v = mb.splitHeads(project("self_attn.v_proj", n, kvHeads * headDim,
                                    hidden, attentionBias),
                            kvHeads);
    Value attended = mb.mergeHeads(attend(l, q, k, v));
    x = mb.add(x, project("self_attn.o_proj", attended, hidden,
                          heads * headDim, attentionBias));
    Value n2 = mb.rmsNorm(
        x, mb.param(p + "post_attention_layernorm.weight", {hidden}), eps);
    auto bias = [&](const std::string &name, int64_t size) {
      return mlpBias ? mb.param(p + name + ".bias", {size}) : Value();
    };
    Value ffn = FfnOp::create(
        b, n2.getType(), n2,
        mb.param(p + "mlp.up_proj.weight", {inter, hidden}),
        mb.param(p + "mlp.gate_proj.weight", {inter, hidden}),
        mb.param(p + "mlp.down_proj.weight", {hidden, inter}),
        bias("mlp.up_proj", inter), bias("mlp.gate_proj", inter),
        bias("mlp.down_proj", hidden), /*residual=*/Value(), Activation::silu);
    return mb.add(x, ffn);
  }

  Value logits(ModelBuilder &mb, Value x) override {
    Value n = mb.rmsNorm(x, mb.param(prefix + "norm.weight", {hidden}), eps);
    std::string head = tied ? prefix + "embed_tokens.weight" : "lm_head.weight";
    return mb.linear(n, mb.param(head, {vocab, hidden}));
  }

private:
  int64_t inter = 1;
  double eps = 1e-6, theta = 10000.0;
  bool attentionBias = false, mlpBias = false, tied = false;
  std::string prefix;
};

//===----------------------------------------------------------------------===//
// GPT-2
//===----------------------------------------------------------------------===//

class Gpt2 : public DecoderFamily {
public:
  explicit Gpt2(ModelBuilder &mb) {
    Config &config = mb.getConfig();
    vocab = config.getPositive("vocab_size");
    hidden = config.getPositive("n_embd");
    layers = config.getPositive("n_layer");
    heads = config.getPositive("n_head");
    kvHeads = heads;
    maxPositions = config.getPositive("n_positions");
    inner = config.getPositive("n_inner", 4 * hidden);
    eps = config.getFloat("layer_norm_epsilon", 1e-5);
    config.requireDivisible("n_embd", hidden, "n_head", heads);
    headDim = hidden / std::max<int64_t>(heads, 1);
    std::string act = config.getString("activation_function", "gelu_new");
    if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast")
      activation = Activation::gelu_tanh;
    else if (act == "gelu")
      activation = Activation::gelu;
    else if (act == "relu")
      activation = Activation::relu;
    else
      config.fail("activation_function",
                  "is '" + act + "'; supported: gelu_new, gelu, relu");
    if (!config.getBool("scale_attn_weights", true))
      config.fail("scale_attn_weights",
                  "is false; Kiln scales attention scores by 1/sqrt(head_dim)");
    if (config.getBool("scale_attn_by_inverse_layer_idx", false))
      config.fail("scale_attn_by_inverse_layer_idx",
                  "is true; Kiln does not implement per-layer score scaling");
    if (config.getError())
      return;
    prefix = mb.detectPrefix({"transformer.", ""}, "wte.weight");
  }

  Value embed(ModelBuilder &mb, Value ids, Value positionIds) override {
    Value tokens = mb.embedding(
        mb.param(prefix + "wte.weight", {vocab, hidden}), ids);
    Value positions = mb.embedding(
        mb.param(prefix + "wpe.weight", {maxPositions, hidden}), positionIds);
    return mb.add(tokens, positions);
  }

  Value layer(ModelBuilder &mb, int64_t l, Value x, Value,
              AttendFn attend) override {
    auto &b = mb.builder();
    std::string p = prefix + "h." + std::to_string(l) + ".";
    auto norm = [&](const std::string &name, Value input) {
      auto [gamma, beta] = mb.layerNormParams(p + name + ".", hidden);
      return mb.layerNorm(input, gamma, beta, eps);
    };
    // Conv1D stores [in, out].
    auto conv1d = [&](const std::string &name, Value input, int64_t in,
                      int64_t out) {
      return mb.linear(input, mb.param(p + name + ".weight", {in, out}),
                       mb.param(p + name + ".bias", {out}),
                       WeightLayout::in_out);
    };
    Value qkv = conv1d("attn.c_attn", norm("ln_1", x), hidden, 3 * hidden);
    Value q = mb.splitHeads(mb.sliceLastDim(qkv, 0, hidden), heads);
    Value k = mb.splitHeads(mb.sliceLastDim(qkv, hidden, hidden), heads);
    Value v = mb.splitHeads(mb.sliceLastDim(qkv, 2 * hidden, hidden), heads);
    Value attended = mb.mergeHeads(attend(l, q, k, v));
    x = mb.add(x, conv1d("attn.c_proj", attended, hidden, hidden));
    Value n2 = norm("ln_2", x);
    Value ffn = FfnOp::create(
        b, n2.getType(), n2, mb.param(p + "mlp.c_fc.weight", {hidden, inner}),
        Value(), mb.param(p + "mlp.c_proj.weight", {inner, hidden}),
        mb.param(p + "mlp.c_fc.bias", {inner}), Value(),
        mb.param(p + "mlp.c_proj.bias", {hidden}), /*residual=*/Value(),
        activation, WeightLayout::in_out);
    return mb.add(x, ffn);
  }

  Value logits(ModelBuilder &mb, Value x) override {
    auto [gamma, beta] = mb.layerNormParams(prefix + "ln_f.", hidden);
    Value n = mb.layerNorm(x, gamma, beta, eps);
    std::string head =
        mb.hasTensor("lm_head.weight") ? "lm_head.weight" : prefix + "wte.weight";
    return mb.linear(n, mb.param(head, {vocab, hidden}));
  }

private:
  int64_t maxPositions = 1, inner = 1;
  double eps = 1e-5;
  Activation activation = Activation::gelu_tanh;
  std::string prefix;
};

} // namespace

void mlir::kiln::hf::importLlama(ModelBuilder &mb) {
  Llama family(mb);
  if (!mb.getError())
    buildDecoderEntries(mb, family);
}

void mlir::kiln::hf::importGpt2(ModelBuilder &mb) {
  Gpt2 family(mb);
  if (!mb.getError())
    buildDecoderEntries(mb, family);
}
