"""Plain-PyTorch references of the Hugging Face model families Kiln imports.

Each family is written out from the Hugging Face modeling semantics
(BertModel, LlamaForCausalLM, GPT2LMHeadModel, MambaForCausalLM), takes the
`config.json` dict and a state dict (numpy arrays or torch tensors) with the
checkpoint's parameter names, and computes in float64:

    bert_forward(config, state, input_ids, attention_mask, token_type_ids)
        -> last_hidden_state [batch, seq, hidden]
    llama_forward / gpt2_forward(config, state, input_ids, attention_mask,
                                 past=None, return_cache=False)
        -> logits [batch, seq, vocab]   (, cache)
    mamba_forward(config, state, input_ids, cache=None, return_cache=False,
                  attention_mask=None)
        -> logits                       (, (conv_state, ssm_state))
    forward(config, state, **inputs)    dispatches on the family
    greedy_generate(config, state, prompt_ids, n)
        -> (ids, margins): every token from a full forward of everything so
           far, with no cache, and the top-1 minus top-2 logit of each step.

Conventions, as Hugging Face's forward without position ids: positions are
past_length + 0..seq-1 whatever the padding; attention is causal (decoders)
and hides keys whose attention_mask is 0; a query row that sees no key at all
gives zeros (Hugging Face gives an unspecified uniform average there; the
tests never compare such rows). Name prefixes the importer accepts are
accepted here too: "bert." or none; "transformer." or none (GPT-2);
lm_head.weight present or tied to the input embedding.

`python3 -m kiln.reference` runs the self-check: cached decoding equals the
full forward (llama, gpt2), the step-by-step Mamba recurrence equals the
full-sequence conv + scan, BERT and the decoders are invariant to right
padding, masked Mamba to left padding, GQA equals MHA with repeated K/V
weights.
"""

import json
import math
import os
import sys

import numpy as np
import torch

from kiln import safetensors_io

FAMILIES = ("bert", "llama", "gpt2", "mamba")
F = torch.nn.functional


# --- loading -------------------------------------------------------------------

def family_of(config):
    """The family of a config.json dict: model_type, else architectures."""
    if config.get("model_type") in FAMILIES:
        return config["model_type"]
    for arch in config.get("architectures") or []:
        for family in FAMILIES:
            if arch.lower().startswith(family):
                return family
    raise ValueError(f"unknown model family (model_type "
                     f"{config.get('model_type')!r}, architectures "
                     f"{config.get('architectures')!r})")


def load_hf_folder(path):
    """(config dict, state dict of numpy arrays) of a Hugging Face folder:
    config.json + model.safetensors, or the shards listed by
    model.safetensors.index.json."""
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(path, "model.safetensors.index.json")
    state = {}
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        for shard in sorted(set(weight_map.values())):
            for name, array in safetensors_io.load(os.path.join(path, shard)).items():
                if weight_map.get(name) != shard:
                    raise ValueError(f"{shard}: {name} not mapped to it by the index")
                state[name] = array
        missing = set(weight_map) - set(state)
        if missing:
            raise ValueError(f"index lists tensors no shard holds: {sorted(missing)[:5]}")
    else:
        state = safetensors_io.load(os.path.join(path, "model.safetensors"))
    return config, state


class _Params:
    """Float64 lookup of checkpoint tensors by their unprefixed name."""

    def __init__(self, state, prefix=""):
        self.tensors = {}
        for name, value in state.items():
            key = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if key in self.tensors:
                raise ValueError(f"{name}: present with and without {prefix!r}")
            self.tensors[key] = value

    def has(self, name):
        return name in self.tensors

    def __call__(self, name):
        if name not in self.tensors:
            raise KeyError(f"checkpoint lacks {name}")
        value = self.tensors[name]
        if isinstance(value, torch.Tensor):
            return value.detach().to(torch.float64)
        return torch.from_numpy(np.asarray(value).astype(np.float64))

    def get(self, name):
        return self(name) if name in self.tensors else None


def _ids(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.int64)


def _mask(mask, shape):
    if mask is None:
        return torch.ones(shape, dtype=torch.bool)
    return torch.as_tensor(np.asarray(mask)) != 0


# --- shared formulas ------------------------------------------------------------

def gelu_tanh(x):
    """gelu_new / gelu_pytorch_tanh."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


ACTIVATIONS = {
    "gelu": F.gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh, "relu": torch.relu, "silu": F.silu, "swish": F.silu,
}


def _act(name):
    if name not in ACTIVATIONS:
        raise NotImplementedError(f"activation {name!r}")
    return ACTIVATIONS[name]


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def linear(x, weight, bias=None):
    """nn.Linear: weight [out, in]."""
    y = x @ weight.T
    return y if bias is None else y + bias


def attention(q, k, v, visible, scale):
    """softmax(q k^T * scale, hidden keys -inf) v on q [B, Sq, H, D],
    k/v [B, Sk, KVH, D] (query head h reads K/V head h // (H / KVH), as HF's
    repeat_kv), visible bool [B, Sq, Sk]. Rows with no visible key give 0."""
    rep = q.shape[2] // k.shape[2]
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * scale
    scores = scores.masked_fill(~visible[:, None], float("-inf"))
    probs = torch.nan_to_num(torch.softmax(scores, -1), nan=0.0)
    return torch.einsum("bhqk,bkhd->bqhd", probs, v)


def causal_visible(key_mask, past, seq):
    """[B, seq, past+seq]: query i (absolute past+i) sees key j when j <= past+i
    and key_mask[b, j] != 0."""
    total = past + seq
    causal = torch.arange(total)[None, :] <= (past + torch.arange(seq))[:, None]
    return causal[None] & key_mask[:, None, :]


def rope(x, positions, theta, dim=None):
    """LLaMA rotary embedding (rotate_half) of x [B, S, H, D] at positions [B, S]."""
    d = x.shape[-1] if dim is None else dim
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = positions.to(torch.float64)[..., None] * inv_freq
    emb = torch.cat([angles, angles], -1)[:, :, None, :]
    cos, sin = emb.cos(), emb.sin()
    rot, rest = x[..., :d], x[..., d:]
    half = torch.cat([-rot[..., d // 2:], rot[..., :d // 2]], -1)
    return torch.cat([rot * cos + half * sin, rest], -1)


def _lm_head(p, embed_name, config, tied_default):
    """lm_head.weight when the checkpoint has it (and ties are off), else the
    input embedding."""
    tied = config.get("tie_word_embeddings", tied_default)
    if p.has("lm_head.weight") and not tied:
        return p("lm_head.weight")
    if p.has("lm_head.weight") and not p.has(embed_name):
        return p("lm_head.weight")
    return p(embed_name)


# --- BERT ----------------------------------------------------------------------------

def bert_forward(config, state, input_ids, attention_mask=None, token_type_ids=None):
    """BertModel(...).last_hidden_state: word + absolute position + token type
    embeddings, LayerNorm, then post-LN encoder layers (self-attention hiding
    padded keys, dense + residual + LayerNorm, GELU intermediate, dense +
    residual + LayerNorm)."""
    p = _Params(state, "bert.")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise NotImplementedError("position_embedding_type")
    ids = _ids(input_ids)
    b, s = ids.shape
    mask = _mask(attention_mask, (b, s))
    types = torch.zeros_like(ids) if token_type_ids is None else _ids(token_type_ids)
    eps = config.get("layer_norm_eps", 1e-12)
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    d = hidden // heads
    act = _act(config.get("hidden_act", "gelu"))
    e = "embeddings."
    h = (p(e + "word_embeddings.weight")[ids]
         + p(e + "position_embeddings.weight")[torch.arange(s)][None]
         + p(e + "token_type_embeddings.weight")[types])
    h = layer_norm(h, p(e + "LayerNorm.weight"), p(e + "LayerNorm.bias"), eps)
    visible = mask[:, None, :].expand(b, s, s)
    lin = lambda x, n: linear(x, p(n + ".weight"), p(n + ".bias"))
    for i in range(config["num_hidden_layers"]):
        n = f"encoder.layer.{i}."
        q, k, v = (lin(h, n + "attention.self." + m).view(b, s, heads, d)
                   for m in ("query", "key", "value"))
        ctx = attention(q, k, v, visible, 1.0 / math.sqrt(d)).reshape(b, s, hidden)
        h = layer_norm(lin(ctx, n + "attention.output.dense") + h,
                       p(n + "attention.output.LayerNorm.weight"),
                       p(n + "attention.output.LayerNorm.bias"), eps)
        f = lin(act(lin(h, n + "intermediate.dense")), n + "output.dense")
        h = layer_norm(f + h, p(n + "output.LayerNorm.weight"),
                       p(n + "output.LayerNorm.bias"), eps)
    return h


# --- LLaMA ---------------------------------------------------------------------------

def llama_forward(config, state, input_ids, attention_mask=None, past=None,
                  return_cache=False):
    """LlamaForCausalLM logits. `past` is a list of (K, V) per layer, K after
    RoPE, [B, P, kv_heads, head_dim]; attention_mask covers past + new tokens
    (as Hugging Face's); positions are P + 0..seq-1."""
    p = _Params(state)
    if config.get("rope_scaling"):
        raise NotImplementedError("rope_scaling")
    ids = _ids(input_ids)
    b, s = ids.shape
    plen = 0 if past is None else past[0][0].shape[1]
    mask = _mask(attention_mask, (b, plen + s))
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    d = config.get("head_dim") or hidden // heads
    eps = config.get("rms_norm_eps", 1e-6)
    theta = config.get("rope_theta", 10000.0)
    act = _act(config.get("hidden_act", "silu"))
    positions = (plen + torch.arange(s))[None].expand(b, s)
    visible = causal_visible(mask, plen, s)
    proj = lambda x, n: linear(x, p(n + ".weight"), p.get(n + ".bias"))
    h = p("model.embed_tokens.weight")[ids]
    cache = []
    for i in range(config["num_hidden_layers"]):
        n = f"model.layers.{i}."
        x = rms_norm(h, p(n + "input_layernorm.weight"), eps)
        q = rope(proj(x, n + "self_attn.q_proj").view(b, s, heads, d), positions, theta)
        k = rope(proj(x, n + "self_attn.k_proj").view(b, s, kv_heads, d), positions, theta)
        v = proj(x, n + "self_attn.v_proj").view(b, s, kv_heads, d)
        if past is not None:
            k = torch.cat([past[i][0], k], 1)
            v = torch.cat([past[i][1], v], 1)
        cache.append((k, v))
        a = attention(q, k, v, visible, 1.0 / math.sqrt(d)).reshape(b, s, heads * d)
        h = h + proj(a, n + "self_attn.o_proj")
        x = rms_norm(h, p(n + "post_attention_layernorm.weight"), eps)
        m = act(proj(x, n + "mlp.gate_proj")) * proj(x, n + "mlp.up_proj")
        h = h + proj(m, n + "mlp.down_proj")
    h = rms_norm(h, p("model.norm.weight"), eps)
    logits = h @ _lm_head(p, "model.embed_tokens.weight", config, False).T
    return (logits, cache) if return_cache else logits


# --- GPT-2 ---------------------------------------------------------------------------

def gpt2_forward(config, state, input_ids, attention_mask=None, past=None,
                 return_cache=False):
    """GPT2LMHeadModel logits: wte + wpe, pre-LN blocks with Conv1D weights
    ([in, out]; c_attn gives q, k, v concatenated), gelu_new MLP, ln_f, lm_head
    tied to wte. `past`/positions as in llama_forward."""
    p = _Params(state, "transformer.")
    ids = _ids(input_ids)
    b, s = ids.shape
    plen = 0 if past is None else past[0][0].shape[1]
    mask = _mask(attention_mask, (b, plen + s))
    hidden = config["n_embd"]
    heads = config["n_head"]
    d = hidden // heads
    eps = config.get("layer_norm_epsilon", 1e-5)
    act = _act(config.get("activation_function", "gelu_new"))
    visible = causal_visible(mask, plen, s)
    conv1d = lambda x, n: x @ p(n + ".weight") + p(n + ".bias")
    h = p("wte.weight")[ids] + p("wpe.weight")[plen + torch.arange(s)][None]
    cache = []
    for i in range(config["n_layer"]):
        n = f"h.{i}."
        x = layer_norm(h, p(n + "ln_1.weight"), p(n + "ln_1.bias"), eps)
        q, k, v = (t.reshape(b, s, heads, d)
                   for t in conv1d(x, n + "attn.c_attn").split(hidden, -1))
        if past is not None:
            k = torch.cat([past[i][0], k], 1)
            v = torch.cat([past[i][1], v], 1)
        cache.append((k, v))
        scale = 1.0 / math.sqrt(d) if config.get("scale_attn_weights", True) else 1.0
        if config.get("scale_attn_by_inverse_layer_idx", False):
            scale /= i + 1
        a = attention(q, k, v, visible, scale).reshape(b, s, hidden)
        h = h + conv1d(a, n + "attn.c_proj")
        x = layer_norm(h, p(n + "ln_2.weight"), p(n + "ln_2.bias"), eps)
        h = h + conv1d(act(conv1d(x, n + "mlp.c_fc")), n + "mlp.c_proj")
    h = layer_norm(h, p("ln_f.weight"), p("ln_f.bias"), eps)
    logits = h @ _lm_head(p, "wte.weight", config, True).T
    return (logits, cache) if return_cache else logits


# --- Mamba ---------------------------------------------------------------------------

def mamba_dims(config):
    """(d_inner, state_size, conv_kernel, time_step_rank) of a MambaConfig."""
    hidden = config["hidden_size"]
    d_inner = config.get("intermediate_size") or int(config.get("expand", 2) * hidden)
    rank = config.get("time_step_rank", "auto")
    if rank == "auto":
        rank = math.ceil(hidden / 16)
    return d_inner, config.get("state_size", 16), config.get("conv_kernel", 4), rank


def _mamba_params(config, p, i):
    n = f"backbone.layers.{i}.mixer."
    return dict(
        in_w=p(n + "in_proj.weight"), in_b=p.get(n + "in_proj.bias"),
        conv_w=p(n + "conv1d.weight"), conv_b=p.get(n + "conv1d.bias"),
        x_w=p(n + "x_proj.weight"), dt_w=p(n + "dt_proj.weight"),
        dt_b=p(n + "dt_proj.bias"), A=-torch.exp(p(n + "A_log")), D=p(n + "D"),
        out_w=p(n + "out_proj.weight"), out_b=p.get(n + "out_proj.bias"))


def _mamba_ssm_inputs(m, x, rank, n):
    """dt (softplus'd), B, C of conv outputs x [B, S, d_inner]."""
    dbc = linear(x, m["x_w"])
    dt, bm, cm = dbc.split([rank, n, n], -1)
    return F.softplus(linear(dt, m["dt_w"], m["dt_b"])), bm, cm


def mamba_forward(config, state, input_ids, cache=None, return_cache=False,
                  attention_mask=None):
    """MambaForCausalLM logits (HF slow path): per layer RMSNorm, in_proj ->
    (x, z), depthwise causal conv1d + SiLU, x_proj -> (dt, B, C), softplus(
    dt_proj(dt)), selective scan h = exp(dt A) h + dt B x, y = C.h + D x,
    y *= silu(z), out_proj, residual. `cache` = (conv_state [L][B, d_inner,
    K-1] (the last K-1 conv inputs, oldest first), ssm_state [L][B, d_inner,
    N]) continues a sequence; the returned cache has the same layout.
    attention_mask zeroes the padded positions of the conv's input and
    output, as HF's MambaMixer does."""
    p = _Params(state)
    ids = _ids(input_ids)
    b, s = ids.shape
    d_inner, n, k, rank = mamba_dims(config)
    eps = config.get("layer_norm_epsilon", 1e-5)
    act = _act(config.get("hidden_act", "silu"))
    real = _mask(attention_mask, (b, s)).to(torch.float64)
    h = p("backbone.embeddings.weight")[ids]
    conv_states, ssm_states = [], []
    for i in range(config["num_hidden_layers"]):
        m = _mamba_params(config, p, i)
        x = rms_norm(h, p(f"backbone.layers.{i}.norm.weight"), eps)
        x, z = linear(x, m["in_w"], m["in_b"]).chunk(2, -1)
        if attention_mask is not None:
            x = x * real[..., None]
        prefix = (torch.zeros(b, d_inner, k - 1, dtype=torch.float64)
                  if cache is None else cache[0][i])
        full = torch.cat([prefix, x.transpose(1, 2)], -1)
        conv_states.append(full[:, :, full.shape[-1] - (k - 1):])
        # Depthwise causal conv: out[t] = sum_j w[j] * full[t + j] (+ bias), as
        # HF's conv1d with padding K-1 cut to the sequence.
        conv = sum(m["conv_w"][:, 0, j, None] * full[:, :, j:j + s] for j in range(k))
        if m["conv_b"] is not None:
            conv = conv + m["conv_b"][:, None]
        x = act(conv).transpose(1, 2)
        if attention_mask is not None:
            x = x * real[..., None]
        dt, bm, cm = _mamba_ssm_inputs(m, x, rank, n)
        hs = (torch.zeros(b, d_inner, n, dtype=torch.float64)
              if cache is None else cache[1][i].clone())
        ys = []
        for t in range(s):
            hs = (torch.exp(dt[:, t, :, None] * m["A"]) * hs
                  + dt[:, t, :, None] * bm[:, t, None, :] * x[:, t, :, None])
            ys.append((hs * cm[:, t, None, :]).sum(-1))
        ssm_states.append(hs)
        y = (torch.stack(ys, 1) + x * m["D"]) * act(z)
        h = h + linear(y, m["out_w"], m["out_b"])
    h = rms_norm(h, p("backbone.norm_f.weight"), eps)
    logits = h @ _lm_head(p, "backbone.embeddings.weight", config, True).T
    if return_cache:
        return logits, (conv_states, ssm_states)
    return logits


def mamba_step(config, state, token_ids, cache):
    """One token per row through the Mamba recurrence written independently of
    mamba_forward's conv1d: the conv is a dot product of the weights with the
    rolled window. token_ids [B]; returns (logits [B, vocab], new cache)."""
    p = _Params(state)
    ids = _ids(token_ids)
    d_inner, n, k, rank = mamba_dims(config)
    eps = config.get("layer_norm_epsilon", 1e-5)
    act = _act(config.get("hidden_act", "silu"))
    h = p("backbone.embeddings.weight")[ids]
    convs, ssms = [], []
    for i in range(config["num_hidden_layers"]):
        m = _mamba_params(config, p, i)
        x = rms_norm(h, p(f"backbone.layers.{i}.norm.weight"), eps)
        x, z = linear(x, m["in_w"], m["in_b"]).chunk(2, -1)          # [B, d_inner]
        window = torch.cat([cache[0][i], x[:, :, None]], -1)          # [B, d_inner, K]
        convs.append(window[:, :, 1:])
        xc = (window * m["conv_w"][:, 0, :]).sum(-1)
        if m["conv_b"] is not None:
            xc = xc + m["conv_b"]
        xc = act(xc)
        dt, bm, cm = _mamba_ssm_inputs(m, xc, rank, n)
        hs = (torch.exp(dt[:, :, None] * m["A"]) * cache[1][i]
              + (dt * xc)[:, :, None] * bm[:, None, :])
        ssms.append(hs)
        y = (torch.einsum("bdn,bn->bd", hs, cm) + m["D"] * xc) * act(z)
        h = h + linear(y, m["out_w"], m["out_b"])
    h = rms_norm(h, p("backbone.norm_f.weight"), eps)
    logits = h @ _lm_head(p, "backbone.embeddings.weight", config, True).T
    return logits, (convs, ssms)


def mamba_zero_cache(config, batch):
    d_inner, n, k, _ = mamba_dims(config)
    layers = config["num_hidden_layers"]
    return ([torch.zeros(batch, d_inner, k - 1, dtype=torch.float64)] * layers,
            [torch.zeros(batch, d_inner, n, dtype=torch.float64)] * layers)


# --- dispatch and generation -----------------------------------------------------------

def forward(config, state, **inputs):
    """The family's forward on named numpy inputs, as the compiled `forward`
    entry takes them; returns float64 torch (logits or last_hidden_state)."""
    family = family_of(config)
    if family == "bert":
        return bert_forward(config, state, inputs["input_ids"],
                            inputs.get("attention_mask"), inputs.get("token_type_ids"))
    if family == "llama":
        return llama_forward(config, state, inputs["input_ids"], inputs.get("attention_mask"))
    if family == "gpt2":
        return gpt2_forward(config, state, inputs["input_ids"], inputs.get("attention_mask"))
    return mamba_forward(config, state, inputs["input_ids"],
                         attention_mask=inputs.get("attention_mask"))


def greedy_generate(config, state, prompt_ids, n):
    """Greedy decoding of n tokens after prompt_ids, recomputing the full
    forward of prompt + generated tokens for every token (no cache). Returns
    (ids, margins) where margins[i] is top-1 minus top-2 logit at step i."""
    ids = [int(t) for t in prompt_ids]
    out, margins = [], []
    for _ in range(n):
        logits = forward(config, state, input_ids=np.array([ids], dtype=np.int64))[0, -1]
        top = torch.topk(logits, 2)
        token = int(top.indices[0])
        margins.append(float(top.values[0] - top.values[1]))
        out.append(token)
        ids.append(token)
    return out, margins


# --- self-check --------------------------------------------------------------------------

def _self_check(seed=0):
    """Consistency checks of the references among themselves; returns the
    number of failures (prints one line per check)."""
    from kiln import bundled

    rng = np.random.default_rng(seed)
    failures = 0

    def check(label, a, b, tol=1e-9):
        nonlocal failures
        err = float((torch.as_tensor(a) - torch.as_tensor(b)).abs().max())
        ok = err <= tol
        failures += not ok
        print(f"{label}: max abs diff {err:.3e} (<= {tol:g}) {'ok' if ok else 'FAIL'}")

    small = dict(num_hidden_layers=2)
    # Decoders: cached decoding (one token, then a chunk) equals the full
    # forward; right padding does not change the real tokens' logits.
    for family, fn, extra in (("llama", llama_forward, {}),
                              ("llama", llama_forward, dict(num_attention_heads=8,
                                                            num_key_value_heads=2)),
                              ("llama", llama_forward, dict(head_dim=48)),
                              ("gpt2", gpt2_forward, {})):
        config, state = bundled.make_model(family, seed=seed, **extra)
        tag = f"{family}{extra or ''}"
        ids = rng.integers(0, config["vocab_size"], (2, 21))
        full = fn(config, state, ids)
        logits, cache = fn(config, state, ids[:, :13], return_cache=True)
        parts = [logits]
        step, cache = fn(config, state, ids[:, 13:14], past=cache, return_cache=True)
        parts.append(step)
        rest = fn(config, state, ids[:, 14:], past=cache)
        parts.append(rest)
        check(f"{tag} cached prefill+decode vs full forward",
              torch.cat(parts, 1), full)
        mask = np.ones((2, 21), dtype=np.int64)
        mask[1, 9:] = 0
        padded = fn(config, state, np.where(mask != 0, ids, 7), mask)
        alone = fn(config, state, ids[1:, :9])
        check(f"{tag} right-padded row vs the row alone", padded[1, :9], alone[0])
        check(f"{tag} full row unchanged by the other row's padding", padded[0], full[0])
    # GQA 8:2 equals MHA 8:8 whose K/V projections repeat each KV head 4 times.
    config, state = bundled.make_model("llama", seed=seed, num_attention_heads=8,
                                       num_key_value_heads=2)
    mha = dict(config, num_key_value_heads=8)
    mstate = dict(state)
    for name, value in state.items():
        if name.endswith(("k_proj.weight", "v_proj.weight")):
            mstate[name] = np.repeat(value.reshape(2, 16, -1), 4, axis=0).reshape(128, -1)
    ids = rng.integers(0, 1000, (2, 9))
    check("llama GQA 8:2 vs MHA with repeated K/V heads",
          llama_forward(config, state, ids), llama_forward(mha, mstate, ids))
    # Tied / prefixed names give the same numbers as the plain checkpoints.
    config, state = bundled.make_model("gpt2", seed=seed)
    pref = {"transformer." + k: v for k, v in state.items()}
    pref["lm_head.weight"] = state["wte.weight"]
    check("gpt2 transformer.-prefixed + explicit lm_head vs plain",
          gpt2_forward(config, pref, ids), gpt2_forward(config, state, ids))
    config, state = bundled.make_model("llama", seed=seed, tie_word_embeddings=True)
    untied = dict(state, **{"lm_head.weight": state["model.embed_tokens.weight"]})
    check("llama tied vs explicit copy of embed_tokens",
          llama_forward(config, state, ids),
          llama_forward(dict(config, tie_word_embeddings=False), untied, ids))
    # BERT: padding invariance; the "bert." prefix.
    config, state = bundled.make_model("bert", seed=seed)
    ids = rng.integers(0, 1000, (2, 17))
    types = rng.integers(0, 2, (2, 17))
    mask = np.ones((2, 17), dtype=np.int64)
    mask[1, 6:] = 0
    full = bert_forward(config, state, ids, mask, types)
    alone = bert_forward(config, state, ids[1:, :6], None, types[1:, :6])
    check("bert right-padded row vs the row alone", full[1, :6], alone[0])
    other = bert_forward(config, state, np.where(mask != 0, ids, 3), mask, types)
    check("bert padded tokens' ids do not matter", other[1, :6], full[1, :6])
    pref = {"bert." + k: v for k, v in state.items()}
    check("bert bert.-prefixed vs plain", bert_forward(config, pref, ids, mask, types), full)
    # Mamba: step-by-step recurrence vs the full sequence; chunked continuation.
    config, state = bundled.make_model("mamba", seed=seed)
    ids = rng.integers(0, 1000, (2, 19))
    full, (conv, ssm) = mamba_forward(config, state, ids, return_cache=True)
    cache = mamba_zero_cache(config, 2)
    steps = []
    for t in range(19):
        logits, cache = mamba_step(config, state, ids[:, t], cache)
        steps.append(logits)
    check("mamba recurrent steps vs full-sequence scan", torch.stack(steps, 1), full)
    check("mamba final conv_state: recurrent vs full", torch.stack(cache[0]), torch.stack(conv))
    check("mamba final ssm_state: recurrent vs full", torch.stack(cache[1]), torch.stack(ssm))
    first, cache = mamba_forward(config, state, ids[:, :2], return_cache=True)
    rest = mamba_forward(config, state, ids[:, 2:], cache=cache)
    check("mamba prefill 2 + continued chunk vs full", torch.cat([first, rest], 1), full)
    mconfig = dict(config, time_step_rank="auto")
    del mconfig["intermediate_size"]
    check("mamba time_step_rank auto / derived intermediate_size",
          mamba_forward(mconfig, state, ids), full)
    # With attention_mask, a left-padded row's real tokens are as alone.
    mask = np.ones((2, 19), dtype=np.int64)
    mask[1, :7] = 0
    padded = mamba_forward(config, state, np.where(mask != 0, ids, 3),
                           attention_mask=mask)
    alone = mamba_forward(config, state, ids[1:, 7:])
    check("mamba left-padded row (masked) vs the row alone", padded[1, 7:], alone[0])
    check("mamba full row unchanged by the other row's mask", padded[0], full[0])
    # Greedy generation: margins of the bundled models are far above fp32 noise.
    for family in ("llama", "gpt2", "mamba"):
        config, state = bundled.make_model(family, seed=seed)
        tokens, margins = greedy_generate(config, state, [5, 17, 42], 16)
        ok = min(margins) > 1e-2
        failures += not ok
        print(f"{family} greedy {tokens[:6]}... min margin {min(margins):.3f} "
              f"{'ok' if ok else 'FAIL'}")
    # Logits stay O(1..10) (activations neither vanish nor explode).
    for family in FAMILIES:
        config, state = bundled.make_model(family, seed=seed)
        ids = rng.integers(0, 1000, (1, 64))
        out = forward(config, state, input_ids=ids)
        print(f"{family} output std {float(out.std()):.2f} max|.| {float(out.abs().max()):.2f}")
    print(f"{failures} failure(s)")
    return failures


if __name__ == "__main__":
    torch.set_num_threads(1)     # the ops are tiny: threads only add overhead
    sys.exit(1 if _self_check() else 0)
