"""Whole layers: examples/bert_layer.mlir against a PyTorch BERT layer and
examples/llama_layer.mlir against a PyTorch LLaMA decoder layer, written out
from the Hugging Face formulas (BertLayer, LlamaDecoderLayer)."""

import os

import numpy as np
import torch

from common import (Case, FP32, gelu_erf, layer_norm, normal, rms_norm, rope,
                    sdpa, t64, weight)

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "..", "examples")
LAYER_SHAPES = [dict(batch=8, seq=128), dict(batch=1, seq=1),
                dict(batch=3, seq=37), dict(batch=2, seq=129)]
HIDDEN = 64


def read_example(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


# --- BERT ----------------------------------------------------------------------

BERT = "encoder.layer.0."
BERT_SHAPES = {
    "attention.self.query": (64, 64), "attention.self.key": (64, 64),
    "attention.self.value": (64, 64), "attention.output.dense": (64, 64),
    "intermediate.dense": (256, 64), "output.dense": (64, 256),
}


def bert_build(rng):
    weights = {}
    for name, shape in BERT_SHAPES.items():
        weights[BERT + name + ".weight"] = weight(rng, shape)
        weights[BERT + name + ".bias"] = normal(rng, (shape[0],), 0.1)
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        weights[BERT + ln + ".weight"] = normal(rng, (HIDDEN,), 0.1) + 1.0
        weights[BERT + ln + ".bias"] = normal(rng, (HIDDEN,), 0.1)
    return read_example("bert_layer.mlir"), weights


def bert_inputs(rng, shape, weights):
    """Hidden states and an attention mask whose rows keep 1..seq real tokens
    (right padding; every row keeps at least one, as tokenizers do)."""
    b, s = shape["batch"], shape["seq"]
    lengths = rng.integers(1, s + 1, b)
    lengths[0] = s
    mask = (np.arange(s)[None, :] < lengths[:, None]).astype(np.int64)
    return {"hidden_states": normal(rng, (b, s, HIDDEN)), "attention_mask": mask}


def bert_reference(inputs, weights):
    """HF BertLayer (post-LN): self-attention with the padding mask on keys,
    dense + residual + LayerNorm(eps 1e-12), then erf-GELU intermediate,
    dense + residual + LayerNorm; padded rows zero, as kiln-compile removes
    an encoder's padding by default."""
    w = {k[len(BERT):]: t64(v) for k, v in weights.items()}
    lin = lambda x, n: torch.nn.functional.linear(x, w[n + ".weight"], w[n + ".bias"])
    x = t64(inputs["hidden_states"])
    b, s, _ = x.shape
    heads = lambda t: t.view(b, s, 4, 16)
    keys = torch.from_numpy(inputs["attention_mask"] != 0)[:, None, :].expand(b, s, s)
    ctx = sdpa(heads(lin(x, "attention.self.query")), heads(lin(x, "attention.self.key")),
               heads(lin(x, "attention.self.value")), keys).reshape(b, s, HIDDEN)
    ln1 = "attention.output.LayerNorm"
    h1 = layer_norm(lin(ctx, "attention.output.dense") + x, w[ln1 + ".weight"],
                    w[ln1 + ".bias"], 1e-12)
    f = lin(gelu_erf(lin(h1, "intermediate.dense")), "output.dense")
    out = layer_norm(f + h1, w["output.LayerNorm.weight"], w["output.LayerNorm.bias"],
                     1e-12)
    real = torch.from_numpy(inputs["attention_mask"] != 0)[..., None]
    return {"last_hidden_state": out * real}


# --- LLaMA ---------------------------------------------------------------------

LLAMA = "model.layers.0."
LLAMA_SHAPES = {
    "self_attn.q_proj": (64, 64), "self_attn.k_proj": (32, 64),
    "self_attn.v_proj": (32, 64), "self_attn.o_proj": (64, 64),
    "mlp.gate_proj": (160, 64), "mlp.up_proj": (160, 64), "mlp.down_proj": (64, 160),
}


def llama_build(rng):
    weights = {LLAMA + n + ".weight": weight(rng, s) for n, s in LLAMA_SHAPES.items()}
    for ln in ("input_layernorm", "post_attention_layernorm"):
        weights[LLAMA + ln + ".weight"] = normal(rng, (HIDDEN,), 0.1) + 1.0
    return read_example("llama_layer.mlir"), weights


def llama_inputs(rng, shape, weights):
    """Hidden states and positions start + arange(seq) with a different
    start per sequence (as after a prefix)."""
    b, s = shape["batch"], shape["seq"]
    starts = rng.integers(0, 64, (b, 1))
    starts[0] = 0
    return {"hidden_states": normal(rng, (b, s, HIDDEN)),
            "position_ids": (starts + np.arange(s)[None, :]).astype(np.int64)}


def llama_reference(inputs, weights):
    """HF LlamaDecoderLayer: RMSNorm(eps 1e-6) -> q/k/v proj -> RoPE
    (rotate_half, theta 1e4) on q and k -> causal GQA (4 heads over 2 KV heads
    of 16, repeat_kv) -> o_proj + residual -> RMSNorm -> SwiGLU MLP +
    residual."""
    w = {k[len(LLAMA):-len(".weight")]: t64(v) for k, v in weights.items()}
    lin = torch.nn.functional.linear
    h = t64(inputs["hidden_states"])
    pos = torch.from_numpy(inputs["position_ids"])
    b, s, _ = h.shape
    x = rms_norm(h, w["input_layernorm"], 1e-6)
    q = rope(lin(x, w["self_attn.q_proj"]).view(b, s, 4, 16), pos, 1e4)
    k = rope(lin(x, w["self_attn.k_proj"]).view(b, s, 2, 16), pos, 1e4)
    v = lin(x, w["self_attn.v_proj"]).view(b, s, 2, 16)
    causal = torch.ones(s, s, dtype=torch.bool).tril()[None]
    a = sdpa(q, k, v, causal).reshape(b, s, HIDDEN)
    h1 = h + lin(a, w["self_attn.o_proj"])
    y = rms_norm(h1, w["post_attention_layernorm"], 1e-6)
    f = lin(torch.nn.functional.silu(lin(y, w["mlp.gate_proj"])) * lin(y, w["mlp.up_proj"]),
            w["mlp.down_proj"])
    return {"output": h1 + f}


CASES = {
    "bert_layer": Case("bert_layer", bert_build, bert_inputs, bert_reference,
                       shapes=LAYER_SHAPES, tolerance=FP32),
    "llama_layer": Case("llama_layer", llama_build, llama_inputs, llama_reference,
                        shapes=LAYER_SHAPES, tolerance=FP32),
}
