//===- Mamba.cpp - Import MambaForCausalLM ---------------------------------===//
//
// Mamba (v1) as Hugging Face defines it: per layer RMSNorm, in_proj to
// (x, z), depthwise causal conv1d + SiLU, x_proj to (dt, B, C), dt_proj with
// its bias and softplus inside the scan, A = -exp(A_log), D skip, SiLU(z)
// gate, out_proj, residual. The recurrent state of all layers travels as
// `conv_state [layers, batch, d_inner, conv_kernel - 1]` (the last inputs
// of the convolution) and `ssm_state [layers, batch, d_inner, state_size]`.
// `forward` also takes `attention_mask` and, as Hugging Face's MambaMixer,
// zeroes padded positions of the convolution's input and output, so that
// left padding leaves the real tokens as they would be alone.
//
//===----------------------------------------------------------------------===//

#include "ModelBuilder.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

struct MambaShape {
  int64_t vocab = 1, hidden = 1, layers = 1, inner = 1, state = 1,
          kernel = 1, dtRank = 1;
  double eps = 1e-5;
  bool bias = false, convBias = true, tied = true;
};

MambaShape readConfig(Config &config) {
  MambaShape s;
  s.vocab = config.getPositive("vocab_size");
  s.hidden = config.getPositive("hidden_size");
  s.layers = config.getPositive("num_hidden_layers");
  s.state = config.getPositive("state_size", 16);
  int64_t expand = config.getPositive("expand", 2);
  s.inner = config.getPositive("intermediate_size", expand * s.hidden);
  s.kernel = config.getPositive("conv_kernel", 4);
  // "auto" (the default) or an integer.
  if (config.isString("time_step_rank")) {
    if (config.getString("time_step_rank", "auto") != "auto")
      config.fail("time_step_rank", "must be \"auto\" or an integer");
    s.dtRank = (s.hidden + 15) / 16;
  } else {
    s.dtRank = config.getPositive("time_step_rank", (s.hidden + 15) / 16);
  }
  s.eps = config.getFloat("layer_norm_epsilon", 1e-5);
  s.bias = config.getBool("use_bias", false);
  s.convBias = config.getBool("use_conv_bias", true);
  s.tied = config.getBool("tie_word_embeddings", true);
  std::string act = config.getString("hidden_act", "silu");
  if (act != "silu")
    config.fail("hidden_act", "is '" + act + "'; Kiln's Mamba uses silu");
  if (s.kernel < 2)
    config.fail("conv_kernel", "must be at least 2");
  return s;
}

} // namespace

void mlir::kiln::hf::importMamba(ModelBuilder &mb) {
  Config &config = mb.getConfig();
  MambaShape s = readConfig(config);
  if (config.getError())
    return;
  std::string prefix = mb.detectPrefix({"backbone.", ""}, "embeddings.weight");
  auto &b = mb.builder();

  RankedTensorType idsType = mb.i64({kDyn, kDyn});
  RankedTensorType logitsType = mb.f32({kDyn, kDyn, s.vocab});
  RankedTensorType convType = mb.f32({s.layers, kDyn, s.inner, s.kernel - 1});
  RankedTensorType ssmType = mb.f32({s.layers, kDyn, s.inner, s.state});
  TensorSpec ids{"input_ids", idsType, {"batch", "seq"}};
  TensorSpec attentionMask{"attention_mask", idsType, {"batch", "seq"}};
  TensorSpec logits{"logits", logitsType, {"batch", "seq", ""}};
  TensorSpec convState{"conv_state", convType, {"", "batch", "", ""}};
  TensorSpec ssmState{"ssm_state", ssmType, {"", "batch", "", ""}};

  for (StringRef entry : {"forward", "prefill", "decode_step"}) {
    bool stateIn = entry == "decode_step", stateOut = entry != "forward";
    SmallVector<Value> args =
        stateIn ? mb.beginEntry(entry, {ids, convState, ssmState},
                                {logits, convState, ssmState})
        : stateOut ? mb.beginEntry(entry, {ids}, {logits, convState, ssmState})
                   : mb.beginEntry(entry, {ids, attentionMask}, {logits});
    Value mask = stateOut ? Value() : args[1];
    Value conv, ssm;
    if (stateIn) {
      conv = args[1];
      ssm = args[2];
    } else if (stateOut) {
      Value batch = mb.dim(args[0], 0);
      conv = mb.emptyStacked(convType, batch);
      ssm = mb.emptyStacked(ssmType, batch);
    }

    Value x = mb.embedding(
        mb.param(prefix + "embeddings.weight", {s.vocab, s.hidden}), args[0]);
    for (int64_t l = 0; l < s.layers; ++l) {
      std::string p = prefix + "layers." + std::to_string(l) + ".";
      std::string m = p + "mixer.";
      auto bias = [&](const std::string &name, int64_t size) {
        return s.bias ? mb.param(m + name + ".bias", {size}) : Value();
      };
      Value n = mb.rmsNorm(x, mb.param(p + "norm.weight", {s.hidden}), s.eps);
      Value xz = mb.linear(
          n, mb.param(m + "in_proj.weight", {2 * s.inner, s.hidden}),
          bias("in_proj", 2 * s.inner));
      Value u = mb.sliceLastDim(xz, 0, s.inner);
      Value z = mb.sliceLastDim(xz, s.inner, s.inner);
      if (mask)
        u = mb.maskTokens(u, mask);

      Value convWeight = mb.collapse(
          mb.param(m + "conv1d.weight", {s.inner, 1, s.kernel}), {{0, 1}, {2}});
      Value convBias =
          s.convBias ? mb.param(m + "conv1d.bias", {s.inner}) : Value();
      Type convStateType = mb.f32({kDyn, s.inner, s.kernel - 1});
      auto convOp = CausalConv1dOp::create(
          b, u.getType(), stateOut ? convStateType : Type(), u, convWeight,
          convBias, Value(), stateIn ? mb.extractLayer(conv, l) : Value(),
          Activation::silu);
      u = convOp.getResult();
      if (mask)
        u = mb.maskTokens(u, mask);

      Value params = mb.linear(
          u, mb.param(m + "x_proj.weight", {s.dtRank + 2 * s.state, s.inner}));
      Value dt = mb.linear(
          mb.sliceLastDim(params, 0, s.dtRank),
          mb.param(m + "dt_proj.weight", {s.inner, s.dtRank}));
      Value B = mb.sliceLastDim(params, s.dtRank, s.state);
      Value C = mb.sliceLastDim(params, s.dtRank + s.state, s.state);
      Value A = mb.negExp(mb.param(m + "A_log", {s.inner, s.state}));
      Type ssmStateType = mb.f32({kDyn, s.inner, s.state});
      auto scan = SelectiveScanOp::create(
          b, u.getType(), stateOut ? ssmStateType : Type(), u, dt, A, B, C,
          mb.param(m + "D", {s.inner}), z,
          mb.param(m + "dt_proj.bias", {s.inner}), Value(),
          stateIn ? mb.extractLayer(ssm, l) : Value(), /*dt_softplus=*/true);
      if (stateOut) {
        conv = mb.insertLayer(convOp.getFinalState(), conv, l);
        ssm = mb.insertLayer(scan.getFinalState(), ssm, l);
      }
      Value out = mb.linear(
          scan.getY(), mb.param(m + "out_proj.weight", {s.hidden, s.inner}),
          bias("out_proj", s.hidden));
      x = mb.add(x, out);
    }
    Value n = mb.rmsNorm(x, mb.param(prefix + "norm_f.weight", {s.hidden}),
                         s.eps);
    std::string head =
        s.tied ? prefix + "embeddings.weight" : std::string("lm_head.weight");
    Value result = mb.linear(n, mb.param(head, {s.vocab, s.hidden}));
    if (stateOut)
      mb.endEntry({result, conv, ssm});
    else
      mb.endEntry(result);
  }
}
