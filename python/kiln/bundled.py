"""Small deterministic Hugging Face checkpoints of the four families Kiln
imports, generated with numpy (nothing binary is committed).

    python3 -m kiln.bundled OUT_DIR [--family F] [--seed S] [--sharded [N]]
                            [--prefix P] [--set key=json ...]

writes OUT_DIR/config.json + model.safetensors (or, with --sharded, N shards
model-0000i-of-0000N.safetensors + model.safetensors.index.json) for family F,
or one such folder per family under OUT_DIR/<family> without --family.

From Python: make_model(family, seed, prefix=None, pooler=True, **config
overrides) -> (config dict, {name: float32 array}); write_folder(path,
config, tensors, shards=0); write_model(path, family, ...) does both.

The bundled default models (hidden 128, 2 layers, vocab 1000):
  bert   4 heads, intermediate 512, 512 positions, 2 token types (BertModel
         names, no prefix, with the pooler; prefix="bert." for the prefixed
         layout)
  llama  4 heads over 2 KV heads, intermediate 352, rope_theta 1e4,
         rms_norm_eps 1e-6, untied lm_head, 512 positions
  gpt2   4 heads, n_inner 4*128, 512 positions, tied lm_head, no prefix
         (prefix="transformer." for GPT2LMHeadModel's layout)
  mamba  state 16, expand 2, conv kernel 4, time_step_rank 8, tied

Scales: projections N(0, 1/fan_in) so activations stay O(1); norm weights
1 + N(0, 0.1); an untied lm_head has std 0.5, a tied embedding std 0.05 with
a final norm gain of 10; both spread the logits (std about 5) so that greedy
generation has top-1/top-2 margins far above fp32 noise (and tied models do
not just repeat their input token); Mamba's dt lies in [0.01, 0.5] and A_log = log(1..N), so the scan
keeps a memory of a few to tens of tokens.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

from kiln import safetensors_io

DEFAULTS = {
    "bert": {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": 1000, "hidden_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 512, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "use_cache": True,
        "classifier_dropout": None, "torch_dtype": "float32",
    },
    "llama": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": 1000, "hidden_size": 128, "intermediate_size": 352,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "hidden_act": "silu", "max_position_embeddings": 512,
        "initializer_range": 0.02, "rms_norm_eps": 1e-6, "use_cache": True,
        "pad_token_id": None, "bos_token_id": 1, "eos_token_id": 2,
        "pretraining_tp": 1, "tie_word_embeddings": False, "rope_theta": 10000.0,
        "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0,
        "mlp_bias": False, "torch_dtype": "float32",
    },
    "gpt2": {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": 1000, "n_positions": 512, "n_ctx": 512, "n_embd": 128,
        "n_layer": 2, "n_head": 4, "n_inner": None,
        "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1,
        "attn_pdrop": 0.1, "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
        "summary_type": "cls_index", "summary_use_proj": True,
        "summary_activation": None, "summary_proj_to_labels": True,
        "summary_first_dropout": 0.1, "scale_attn_weights": True,
        "use_cache": True, "bos_token_id": 999, "eos_token_id": 999,
        "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "torch_dtype": "float32",
    },
    "mamba": {
        "architectures": ["MambaForCausalLM"], "model_type": "mamba",
        "vocab_size": 1000, "hidden_size": 128, "state_size": 16,
        "num_hidden_layers": 2, "layer_norm_epsilon": 1e-5, "pad_token_id": 0,
        "bos_token_id": 0, "eos_token_id": 0, "expand": 2, "conv_kernel": 4,
        "use_bias": False, "use_conv_bias": True, "hidden_act": "silu",
        "initializer_range": 0.1, "residual_in_fp32": True, "time_step_rank": 8,
        "time_step_scale": 1.0, "time_step_min": 0.001, "time_step_max": 0.1,
        "time_step_init_scheme": "random", "time_step_floor": 0.0001,
        "rescale_prenorm_residual": False, "use_cache": True,
        "intermediate_size": 256, "tie_word_embeddings": True,
        "torch_dtype": "float32",
    },
}

# Untied output embeddings: std 0.5 spreads the logits to std ~5. A tied
# embedding must also be small at the input, else every token's own logit
# (|e|^2 through the residual) dominates and greedy decoding repeats the last
# token: std 0.05 with a final-norm gain of 10 gives the same logit spread.
OUTPUT_EMBEDDING_STD = 0.5
TIED_EMBEDDING_STD = 0.05
TIED_FINAL_NORM_GAIN = 10.0


class _Gen:
    """Float32 draws in a fixed order from one seeded generator."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, shape, std):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def weight(self, out, inp):
        """nn.Linear weight [out, in] with std 1/sqrt(in)."""
        return self.normal((out, inp), 1.0 / math.sqrt(inp))

    def bias(self, n):
        return self.normal((n,), 0.1)

    def norm(self, n):
        return (1.0 + self.normal((n,), 0.1)).astype(np.float32)


def _bert(c, g, pooler):
    h, inter = c["hidden_size"], c["intermediate_size"]
    t = {"embeddings.word_embeddings.weight": g.normal((c["vocab_size"], h), 0.5),
         "embeddings.position_embeddings.weight":
             g.normal((c["max_position_embeddings"], h), 0.5),
         "embeddings.token_type_embeddings.weight": g.normal((c["type_vocab_size"], h), 0.5),
         "embeddings.LayerNorm.weight": g.norm(h), "embeddings.LayerNorm.bias": g.bias(h)}
    for i in range(c["num_hidden_layers"]):
        n = f"encoder.layer.{i}."
        for m, (o, k) in (("attention.self.query", (h, h)), ("attention.self.key", (h, h)),
                          ("attention.self.value", (h, h)),
                          ("attention.output.dense", (h, h)),
                          ("intermediate.dense", (inter, h)), ("output.dense", (h, inter))):
            t[n + m + ".weight"] = g.weight(o, k)
            t[n + m + ".bias"] = g.bias(o)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[n + ln + ".weight"] = g.norm(h)
            t[n + ln + ".bias"] = g.bias(h)
    if pooler:
        t["pooler.dense.weight"] = g.weight(h, h)
        t["pooler.dense.bias"] = g.bias(h)
    return t


def _llama(c, g):
    h, inter, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    heads = c["num_attention_heads"]
    kvh = c.get("num_key_value_heads") or heads
    d = c.get("head_dim") or h // heads
    tied = c.get("tie_word_embeddings", False)
    t = {"model.embed_tokens.weight": g.normal((v, h), TIED_EMBEDDING_STD if tied else 1.0)}
    for i in range(c["num_hidden_layers"]):
        n = f"model.layers.{i}."
        t[n + "input_layernorm.weight"] = g.norm(h)
        for m, (o, k, use_bias) in (
                ("self_attn.q_proj", (heads * d, h, c.get("attention_bias"))),
                ("self_attn.k_proj", (kvh * d, h, c.get("attention_bias"))),
                ("self_attn.v_proj", (kvh * d, h, c.get("attention_bias"))),
                ("self_attn.o_proj", (h, heads * d, c.get("attention_bias"))),
                ("mlp.gate_proj", (inter, h, c.get("mlp_bias"))),
                ("mlp.up_proj", (inter, h, c.get("mlp_bias"))),
                ("mlp.down_proj", (h, inter, c.get("mlp_bias")))):
            t[n + m + ".weight"] = g.weight(o, k)
            if use_bias:
                t[n + m + ".bias"] = g.bias(o)
        t[n + "post_attention_layernorm.weight"] = g.norm(h)
    t["model.norm.weight"] = g.norm(h) * (TIED_FINAL_NORM_GAIN if tied else 1.0)
    if not tied:
        t["lm_head.weight"] = g.normal((v, h), OUTPUT_EMBEDDING_STD)
    return t


def _gpt2(c, g, lm_head):
    h, v = c["n_embd"], c["vocab_size"]
    inner = c.get("n_inner") or 4 * h
    t = {"wte.weight": g.normal((v, h), TIED_EMBEDDING_STD),
         "wpe.weight": g.normal((c["n_positions"], h), TIED_EMBEDDING_STD)}
    conv = lambda i, o: g.normal((i, o), 1.0 / math.sqrt(i))   # Conv1D: [in, out]
    for i in range(c["n_layer"]):
        n = f"h.{i}."
        t[n + "ln_1.weight"], t[n + "ln_1.bias"] = g.norm(h), g.bias(h)
        t[n + "attn.c_attn.weight"], t[n + "attn.c_attn.bias"] = conv(h, 3 * h), g.bias(3 * h)
        t[n + "attn.c_proj.weight"], t[n + "attn.c_proj.bias"] = conv(h, h), g.bias(h)
        t[n + "ln_2.weight"], t[n + "ln_2.bias"] = g.norm(h), g.bias(h)
        t[n + "mlp.c_fc.weight"], t[n + "mlp.c_fc.bias"] = conv(h, inner), g.bias(inner)
        t[n + "mlp.c_proj.weight"], t[n + "mlp.c_proj.bias"] = conv(inner, h), g.bias(h)
    t["ln_f.weight"], t["ln_f.bias"] = g.norm(h) * TIED_FINAL_NORM_GAIN, g.bias(h)
    if lm_head:
        t["lm_head.weight"] = t["wte.weight"].copy()
    return t


def _mamba(c, g):
    h, v, n, k = c["hidden_size"], c["vocab_size"], c["state_size"], c["conv_kernel"]
    d_inner = c.get("intermediate_size") or int(c["expand"] * h)
    rank = c.get("time_step_rank", "auto")
    rank = math.ceil(h / 16) if rank == "auto" else rank
    tied = c.get("tie_word_embeddings", True)
    t = {"backbone.embeddings.weight": g.normal((v, h), TIED_EMBEDDING_STD if tied else 1.0)}
    for i in range(c["num_hidden_layers"]):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        t[p + "norm.weight"] = g.norm(h)
        t[m + "in_proj.weight"] = g.weight(2 * d_inner, h)
        if c.get("use_bias"):
            t[m + "in_proj.bias"] = g.bias(2 * d_inner)
        t[m + "conv1d.weight"] = g.normal((d_inner, 1, k), 1.0 / math.sqrt(k))
        if c.get("use_conv_bias", True):
            t[m + "conv1d.bias"] = g.bias(d_inner)
        t[m + "x_proj.weight"] = g.weight(rank + 2 * n, d_inner)
        t[m + "dt_proj.weight"] = g.normal((d_inner, rank), 0.5 / math.sqrt(rank))
        dt = np.exp(g.rng.uniform(math.log(0.01), math.log(0.5), d_inner))
        t[m + "dt_proj.bias"] = (dt + np.log(-np.expm1(-dt))).astype(np.float32)
        a_log = np.log(np.arange(1, n + 1, dtype=np.float64))[None].repeat(d_inner, 0)
        t[m + "A_log"] = (a_log + g.normal((d_inner, n), 0.05)).astype(np.float32)
        t[m + "D"] = g.norm(d_inner)
        t[m + "out_proj.weight"] = g.weight(h, d_inner)
        if c.get("use_bias"):
            t[m + "out_proj.bias"] = g.bias(h)
    t["backbone.norm_f.weight"] = g.norm(h) * (TIED_FINAL_NORM_GAIN if tied else 1.0)
    if not tied:
        t["lm_head.weight"] = g.normal((v, h), OUTPUT_EMBEDDING_STD)
    return t


def make_model(family, seed=0, prefix=None, pooler=True, lm_head=False, **overrides):
    """(config dict, {name: float32 array}) of a bundled model. `overrides`
    replace config.json fields (e.g. num_attention_heads=8,
    num_key_value_heads=2, tie_word_embeddings=True); `prefix` prepends
    "bert." (bert) or "transformer." (gpt2) to the base model's tensors;
    `pooler` keeps BERT's pooler; `lm_head` (gpt2) also stores the tied
    lm_head.weight."""
    if family not in DEFAULTS:
        raise ValueError(f"unknown family {family!r}; known: {sorted(DEFAULTS)}")
    config = dict(DEFAULTS[family])
    config.update(overrides)
    g = _Gen(seed)
    if family == "bert":
        tensors = _bert(config, g, pooler)
    elif family == "llama":
        tensors = _llama(config, g)
    elif family == "gpt2":
        tensors = _gpt2(config, g, lm_head)
    else:
        tensors = _mamba(config, g)
    if prefix:
        tensors = {(n if n == "lm_head.weight" else prefix + n): a for n, a in tensors.items()}
    return config, tensors


def write_folder(path, config, tensors, shards=0):
    """Writes config.json and model.safetensors, or with shards >= 1 the HF
    sharded layout: model-0000i-of-0000N.safetensors (whole tensors, in name
    order, about equal bytes each) + model.safetensors.index.json."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    meta = {"format": "pt"}
    if not shards:
        safetensors_io.save(tensors, os.path.join(path, "model.safetensors"), meta)
        return
    names = sorted(tensors)
    total = sum(tensors[n].nbytes for n in names)
    groups = [[] for _ in range(shards)]
    done = 0
    for name in names:
        index = min(shards - 1, done * shards // total)
        groups[index].append(name)
        done += tensors[name].nbytes
    groups = [group for group in groups if group]
    shards = len(groups)
    weight_map = {}
    for i, group in enumerate(groups):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        safetensors_io.save({n: tensors[n] for n in group}, os.path.join(path, file), meta)
        weight_map.update({n: file for n in group})
    with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f,
                  indent=2, sort_keys=True)
        f.write("\n")


def write_model(path, family, seed=0, shards=0, **options):
    """make_model + write_folder; returns (config, tensors)."""
    config, tensors = make_model(family, seed=seed, **options)
    write_folder(path, config, tensors, shards)
    return config, tensors


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m kiln.bundled",
        description="Writes the bundled small Hugging Face checkpoints.")
    parser.add_argument("out_dir")
    parser.add_argument("--family", choices=sorted(DEFAULTS),
                        help="one family into OUT_DIR (default: all, in OUT_DIR/<family>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sharded", nargs="?", type=int, const=3, default=0,
                        metavar="N", help="write N shards and the index (default N: 3)")
    parser.add_argument("--prefix", help='tensor name prefix ("bert.", "transformer.")')
    parser.add_argument("--no-pooler", action="store_true", help="bert: omit the pooler")
    parser.add_argument("--lm-head", action="store_true",
                        help="gpt2: also store the tied lm_head.weight")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a config.json field, e.g. num_key_value_heads=2")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    families = [args.family] if args.family else sorted(DEFAULTS)
    for family in families:
        path = args.out_dir if args.family else os.path.join(args.out_dir, family)
        write_model(path, family, seed=args.seed, shards=args.sharded,
                    prefix=args.prefix, pooler=not args.no_pooler,
                    lm_head=args.lm_head, **overrides)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
