"""Kiln-dialect text of whole transformer layers, for benchmarks and tests.

The generated layers follow Hugging Face's parameter names (BertLayer,
LlamaDecoderLayer) so that weights written by `random_weights` could as well
come from a real checkpoint.
"""

import re

import numpy as np


def _t(*dims):
    """`tensor<...xf32>` with `?` for None."""
    return "tensor<" + "x".join("?" if d is None else str(d) for d in dims) + "xf32>"


def bert_layer(hidden=768, heads=12, ffn=3072, eps=1e-12):
    """A post-LN BERT encoder layer with a padding mask: forward(hidden, mask)."""
    d = hidden // heads
    p = "encoder.layer.0."
    x3, h4 = _t(None, None, hidden), _t(None, None, heads, d)
    w = lambda name, *dims: f'  %{name} = kiln.param "{p}{PARAMS_BERT[name]}" : {_t(*dims)}\n'
    text = (f'func.func @forward(%x: {x3} {{kiln.name = "hidden_states"}}, '
            f'%mask: tensor<?x?xi64> {{kiln.name = "attention_mask"}}) -> '
            f'({x3} {{kiln.name = "output"}}) {{\n')
    for name in ("wq", "wk", "wv", "wo"):
        text += w(name, hidden, hidden) + w("b" + name[1], hidden)
    text += w("g1", hidden) + w("b1", hidden) + w("wi", ffn, hidden) + w("bi", ffn)
    text += w("wd", hidden, ffn) + w("bd", hidden) + w("g2", hidden) + w("b2", hidden)
    lin = lambda out, src, wn, bn: (
        f"  %{out} = kiln.linear %{src}, %{wn} bias %{bn} : ({x3}, "
        f"{_t(hidden, hidden)}, {_t(hidden)}) -> {x3}\n")
    for n in "qkv":
        text += lin(n + "0", "x", "w" + n, "b" + n)
        text += f"  %{n} = kiln.split_heads %{n}0 heads {heads} : {x3} -> {h4}\n"
    text += (f"  %a = kiln.attention %q, %k, %v key_mask %mask heads {heads} "
             f"kv_heads {heads} mask <padding> : ({h4}, {h4}, {h4}, "
             f"tensor<?x?xi64>) -> {h4}\n")
    text += f"  %am = kiln.merge_heads %a : {h4} -> {x3}\n"
    text += lin("ao", "am", "wo", "bo")
    text += f"  %r1 = kiln.add %ao, %x : {x3}\n"
    text += (f"  %h1 = kiln.layer_norm %r1 weight %g1 bias %b1 epsilon {eps:e} : "
             f"({x3}, {_t(hidden)}, {_t(hidden)}) -> {x3}\n")
    text += (f"  %f = kiln.ffn %h1 up %wi down %wd up_bias %bi down_bias %bd "
             f"activation <gelu> : ({x3}, {_t(ffn, hidden)}, {_t(hidden, ffn)}, "
             f"{_t(ffn)}, {_t(hidden)}) -> {x3}\n")
    text += f"  %r2 = kiln.add %f, %h1 : {x3}\n"
    text += (f"  %out = kiln.layer_norm %r2 weight %g2 bias %b2 epsilon {eps:e} : "
             f"({x3}, {_t(hidden)}, {_t(hidden)}) -> {x3}\n")
    text += f"  return %out : {x3}\n}}\n"
    return text


PARAMS_BERT = {
    "wq": "attention.self.query.weight", "bq": "attention.self.query.bias",
    "wk": "attention.self.key.weight", "bk": "attention.self.key.bias",
    "wv": "attention.self.value.weight", "bv": "attention.self.value.bias",
    "wo": "attention.output.dense.weight", "bo": "attention.output.dense.bias",
    "g1": "attention.output.LayerNorm.weight", "b1": "attention.output.LayerNorm.bias",
    "wi": "intermediate.dense.weight", "bi": "intermediate.dense.bias",
    "wd": "output.dense.weight", "bd": "output.dense.bias",
    "g2": "output.LayerNorm.weight", "b2": "output.LayerNorm.bias",
}


def llama_layer(hidden=768, heads=12, kv_heads=4, ffn=2048, theta=10000.0,
                eps=1e-6):
    """A LLaMA decoder layer (RMSNorm, RoPE, causal GQA, SwiGLU):
    forward(hidden, positions)."""
    d = hidden // heads
    p = "model.layers.0."
    x3 = _t(None, None, hidden)
    kv3 = _t(None, None, kv_heads * d)
    q4, kv4 = _t(None, None, heads, d), _t(None, None, kv_heads, d)
    w = lambda var, name, *dims: f'  %{var} = kiln.param "{p}{name}" : {_t(*dims)}\n'
    text = (f'func.func @forward(%x: {x3} {{kiln.name = "hidden_states"}}, '
            f'%pos: tensor<?x?xi64> {{kiln.name = "position_ids"}}) -> '
            f'({x3} {{kiln.name = "output"}}) {{\n')
    text += w("ln1", "input_layernorm.weight", hidden)
    text += w("wq", "self_attn.q_proj.weight", hidden, hidden)
    text += w("wk", "self_attn.k_proj.weight", kv_heads * d, hidden)
    text += w("wv", "self_attn.v_proj.weight", kv_heads * d, hidden)
    text += w("wo", "self_attn.o_proj.weight", hidden, hidden)
    text += w("ln2", "post_attention_layernorm.weight", hidden)
    text += w("wg", "mlp.gate_proj.weight", ffn, hidden)
    text += w("wu", "mlp.up_proj.weight", ffn, hidden)
    text += w("wd", "mlp.down_proj.weight", hidden, ffn)
    text += (f"  %n1 = kiln.rms_norm %x weight %ln1 epsilon {eps:e} : "
             f"({x3}, {_t(hidden)}) -> {x3}\n")
    text += f"  %q0 = kiln.linear %n1, %wq : ({x3}, {_t(hidden, hidden)}) -> {x3}\n"
    for n in "kv":
        text += (f"  %{n}0 = kiln.linear %n1, %w{n} : ({x3}, "
                 f"{_t(kv_heads * d, hidden)}) -> {kv3}\n")
    text += f"  %q1 = kiln.split_heads %q0 heads {heads} : {x3} -> {q4}\n"
    text += f"  %k1 = kiln.split_heads %k0 heads {kv_heads} : {kv3} -> {kv4}\n"
    text += f"  %v = kiln.split_heads %v0 heads {kv_heads} : {kv3} -> {kv4}\n"
    for n, ty in (("q", q4), ("k", kv4)):
        text += (f"  %{n} = kiln.rope %{n}1 positions %pos theta {theta:e} : "
                 f"({ty}, tensor<?x?xi64>) -> {ty}\n")
    text += (f"  %a = kiln.attention %q, %k, %v heads {heads} kv_heads {kv_heads} "
             f"mask <causal> : ({q4}, {kv4}, {kv4}) -> {q4}\n")
    text += f"  %am = kiln.merge_heads %a : {q4} -> {x3}\n"
    text += f"  %ao = kiln.linear %am, %wo : ({x3}, {_t(hidden, hidden)}) -> {x3}\n"
    text += f"  %h1 = kiln.add %x, %ao : {x3}\n"
    text += (f"  %n2 = kiln.rms_norm %h1 weight %ln2 epsilon {eps:e} : "
             f"({x3}, {_t(hidden)}) -> {x3}\n")
    text += (f"  %f = kiln.ffn %n2 up %wu gate %wg down %wd activation <silu> : "
             f"({x3}, {_t(ffn, hidden)}, {_t(ffn, hidden)}, {_t(hidden, ffn)}) -> {x3}\n")
    text += f"  %out = kiln.add %h1, %f : {x3}\n"
    text += f"  return %out : {x3}\n}}\n"
    return text


def random_weights(mlir_text, seed=0, scale=0.05):
    """Random f32 weights for every kiln.param of `mlir_text` (norm weights
    around 1)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in re.findall(r'kiln.param "([^"]+)" : tensor<([0-9x]+)xf32>',
                                  mlir_text):
        dims = [int(d) for d in shape.split("x")]
        values = rng.standard_normal(dims) * scale
        if "norm" in name.lower() and name.endswith("weight"):
            values += 1.0
        weights[name] = values.astype(np.float32)
    return weights
