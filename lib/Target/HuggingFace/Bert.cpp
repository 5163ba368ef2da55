//===- Bert.cpp - Import BertModel -----------------------------------------===//
//
// BertModel as Hugging Face defines it: word + learned absolute position +
// token type embeddings, LayerNorm, then post-LN encoder layers. The pooler
// is not imported: the entry returns last_hidden_state.
//
//===----------------------------------------------------------------------===//

#include "ModelBuilder.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;

/// The activation a Hugging Face `hidden_act` names.
static Activation parseActivation(Config &config, StringRef key,
                                  StringRef otherwise) {
  std::string name = config.getString(key, otherwise);
  if (name == "gelu")
    return Activation::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::gelu_tanh;
  if (name == "relu")
    return Activation::relu;
  if (name == "silu" || name == "swish")
    return Activation::silu;
  config.fail(key, "is '" + name +
                       "'; supported: gelu, gelu_new, gelu_pytorch_tanh, "
                       "gelu_fast, relu, silu");
  return Activation::gelu;
}

void mlir::kiln::hf::importBert(ModelBuilder &mb) {
  Config &config = mb.getConfig();
  int64_t vocab = config.getPositive("vocab_size");
  int64_t hidden = config.getPositive("hidden_size");
  int64_t layers = config.getPositive("num_hidden_layers");
  int64_t heads = config.getPositive("num_attention_heads");
  int64_t inter = config.getPositive("intermediate_size");
  int64_t maxPositions = config.getPositive("max_position_embeddings");
  int64_t typeVocab = config.getPositive("type_vocab_size", 2);
  double eps = config.getFloat("layer_norm_eps", 1e-12);
  Activation act = parseActivation(config, "hidden_act", "gelu");
  std::string positionKind =
      config.getString("position_embedding_type", "absolute");
  if (positionKind != "absolute")
    config.fail("position_embedding_type",
                "is '" + positionKind + "'; Kiln implements 'absolute'");
  config.requireDivisible("hidden_size", hidden, "num_attention_heads", heads);
  if (config.getError())
    return;

  std::string p =
      mb.detectPrefix({"", "bert."}, "embeddings.word_embeddings.weight");
  constexpr int64_t kDyn = ShapedType::kDynamic;
  RankedTensorType idsType = mb.i64({kDyn, kDyn});
  RankedTensorType hiddenType = mb.f32({kDyn, kDyn, hidden});
  SmallVector<Value> args = mb.beginEntry(
      "forward",
      {{"input_ids", idsType, {"batch", "seq"}},
       {"attention_mask", idsType, {"batch", "seq"}},
       {"token_type_ids", idsType, {"batch", "seq"}}},
      {{"last_hidden_state", hiddenType, {"batch", "seq", ""}}});
  Value ids = args[0], mask = args[1], types = args[2];

  std::string e = p + "embeddings.";
  Value words = mb.embedding(
      mb.param(e + "word_embeddings.weight", {vocab, hidden}), ids);
  Value positions = mb.embedding(
      mb.param(e + "position_embeddings.weight", {maxPositions, hidden}),
      mb.positionIds(ids, {}));
  Value tokenTypes = mb.embedding(
      mb.param(e + "token_type_embeddings.weight", {typeVocab, hidden}),
      types);
  auto [embGamma, embBeta] = mb.layerNormParams(e + "LayerNorm.", hidden);
  Value x = mb.layerNorm(mb.add(mb.add(words, positions), tokenTypes),
                         embGamma, embBeta, eps);

  auto &b = mb.builder();
  for (int64_t l = 0; l < layers; ++l) {
    std::string lp = p + "encoder.layer." + std::to_string(l) + ".";
    auto project = [&](const std::string &name, Value input, int64_t out,
                       int64_t in) {
      return mb.linear(input, mb.param(lp + name + ".weight", {out, in}),
                       mb.param(lp + name + ".bias", {out}));
    };
    Value q = mb.splitHeads(
        project("attention.self.query", x, hidden, hidden), heads);
    Value k =
        mb.splitHeads(project("attention.self.key", x, hidden, hidden), heads);
    Value v = mb.splitHeads(
        project("attention.self.value", x, hidden, hidden), heads);
    Value attended =
        AttentionOp::create(b, q.getType(), TypeRange{}, q, k, v, mask,
                            Value(), Value(), Value(), Value(),
                            b.getI64IntegerAttr(heads),
                            b.getI64IntegerAttr(heads), FloatAttr(),
                            MaskAttr::get(b.getContext(), MaskKind::padding,
                                          0, 0, 0, 0))
            .getOutput();
    Value projected =
        project("attention.output.dense", mb.mergeHeads(attended), hidden,
                hidden);
    auto [g1, b1] = mb.layerNormParams(lp + "attention.output.LayerNorm.",
                                       hidden);
    x = mb.layerNorm(mb.add(projected, x), g1, b1, eps);
    Value ffn = FfnOp::create(
        b, x.getType(), x,
        mb.param(lp + "intermediate.dense.weight", {inter, hidden}), Value(),
        mb.param(lp + "output.dense.weight", {hidden, inter}),
        mb.param(lp + "intermediate.dense.bias", {inter}), Value(),
        mb.param(lp + "output.dense.bias", {hidden}), /*residual=*/Value(),
        act);
    auto [g2, b2] = mb.layerNormParams(lp + "output.LayerNorm.", hidden);
    x = mb.layerNorm(mb.add(ffn, x), g2, b2, eps);
  }
  mb.endEntry(x);
}
