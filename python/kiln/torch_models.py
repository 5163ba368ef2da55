"""Plain PyTorch modules of the four families Kiln imports, float32, with
Hugging Face's module structure and therefore its state_dict names:

    BertModel          forward(input_ids, attention_mask=None, token_type_ids=None)
                       -> last_hidden_state [batch, seq, hidden]
    LlamaForCausalLM   forward(input_ids, attention_mask=None) -> logits
    GPT2LMHeadModel    forward(input_ids, attention_mask=None) -> logits
    MambaForCausalLM   forward(input_ids, attention_mask=None) -> logits

Each takes the config.json dict (kept as `module.config`, which kiln.export
reads), is built with PyTorch's default initialisation, and follows the
semantics of docs/Import.md (which are Hugging Face's). They exist so that a
model can be written, trained or loaded in PyTorch and exported with
kiln.export without the `transformers` package; a real `transformers` model
of these classes exports the same way.

    build(config)                  -> the module of config's family
    from_state(config, state)      -> build + load a state dict (numpy or
                                      torch; the prefixes the importer
                                      accepts are accepted)
    from_folder(path)              -> from a Hugging Face folder

Masking: padded keys (attention_mask == 0) get the dtype's most negative
score, as Hugging Face adds; a query row that sees no key at all therefore
averages all keys uniformly (kiln.reference gives zeros there; neither is
meaningful). Mamba zeroes padded positions of its convolution's input and
output, as Hugging Face's MambaMixer does.
"""

import math

import numpy as np
import torch
from torch import nn

F = torch.nn.functional

FAMILIES = ("bert", "llama", "gpt2", "mamba")


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


_ACTIVATIONS = {
    "gelu": F.gelu, "gelu_new": _gelu_tanh, "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_tanh, "relu": F.relu, "silu": F.silu, "swish": F.silu,
}


def activation(name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported "
                         f"({', '.join(sorted(_ACTIVATIONS))})")
    return _ACTIVATIONS[name]


def _attend(q, k, v, visible):
    """q [B, Sq, H, D], k/v [B, Sk, KVH, D], visible bool [B, Sq, Sk]."""
    rep = q.shape[2] // k.shape[2]
    if rep > 1:
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~visible[:, None], torch.finfo(scores.dtype).min)
    return torch.einsum("bhqk,bkhd->bqhd", torch.softmax(scores, -1), v)


def _key_mask(attention_mask, ids):
    if attention_mask is None:
        return torch.ones(ids.shape, dtype=torch.bool, device=ids.device)
    return torch.as_tensor(attention_mask, device=ids.device) != 0


def _causal(key_mask):
    s = key_mask.shape[1]
    causal = torch.ones(s, s, dtype=torch.bool, device=key_mask.device).tril()
    return causal[None] & key_mask[:, None, :]


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class _Module(nn.Module):
    """Keeps the config dict as `config`."""

    def __init__(self, config, family):
        super().__init__()
        self.config = dict(config)
        self.config.setdefault("model_type", family)


# --- BERT -------------------------------------------------------------------------------

class _Namespace(nn.Module):
    pass


class _BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-12)
        self.attention = _Namespace()
        self.attention.self = _Namespace()
        for n in ("query", "key", "value"):
            setattr(self.attention.self, n, nn.Linear(h, h))
        self.attention.output = _Namespace()
        self.attention.output.dense = nn.Linear(h, h)
        self.attention.output.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.intermediate = _Namespace()
        self.intermediate.dense = nn.Linear(h, c["intermediate_size"])
        self.output = _Namespace()
        self.output.dense = nn.Linear(c["intermediate_size"], h)
        self.output.LayerNorm = nn.LayerNorm(h, eps=eps)
        self.heads = c["num_attention_heads"]
        self.act = activation(c.get("hidden_act", "gelu"))

    def forward(self, h, visible):
        b, s, hidden = h.shape
        a = self.attention
        q, k, v = (getattr(a.self, n)(h).view(b, s, self.heads, -1)
                   for n in ("query", "key", "value"))
        ctx = _attend(q, k, v, visible).reshape(b, s, hidden)
        h = a.output.LayerNorm(a.output.dense(ctx) + h)
        f = self.output.dense(self.act(self.intermediate.dense(h)))
        return self.output.LayerNorm(f + h)


class BertModel(_Module):
    """BertModel; `pooler` keeps the (unused) pooler so that checkpoints
    with it load strictly."""

    def __init__(self, config, pooler=True):
        super().__init__(config, "bert")
        c = self.config
        if c.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        h = c["hidden_size"]
        self.embeddings = _Namespace()
        self.embeddings.word_embeddings = nn.Embedding(c["vocab_size"], h)
        self.embeddings.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.embeddings.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), h)
        self.embeddings.LayerNorm = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        self.encoder = _Namespace()
        self.encoder.layer = nn.ModuleList(_BertLayer(c) for _ in range(c["num_hidden_layers"]))
        if pooler:
            self.pooler = _Namespace()
            self.pooler.dense = nn.Linear(h, h)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        ids = torch.as_tensor(input_ids)
        b, s = ids.shape
        e = self.embeddings
        types = torch.zeros_like(ids) if token_type_ids is None else torch.as_tensor(token_type_ids)
        h = (e.word_embeddings(ids) + e.position_embeddings(torch.arange(s, device=ids.device))[None]
             + e.token_type_embeddings(types))
        h = e.LayerNorm(h)
        visible = _key_mask(attention_mask, ids)[:, None, :].expand(b, s, s)
        for layer in self.encoder.layer:
            h = layer(h, visible)
        return h


# --- LLaMA ------------------------------------------------------------------------------

def rope(x, positions, theta):
    """Rotate-half RoPE of x [B, S, H, D] at positions [S]."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d))
    angles = positions.to(torch.float32)[:, None] * inv_freq
    emb = torch.cat([angles, angles], -1)[None, :, None, :]
    half = torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * emb.cos() + half * emb.sin()


class _LlamaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or h // self.heads
        self.theta = c.get("rope_theta", 10000.0)
        ab, mb = bool(c.get("attention_bias")), bool(c.get("mlp_bias"))
        eps = c.get("rms_norm_eps", 1e-6)
        d, inter = self.head_dim, c["intermediate_size"]
        self.input_layernorm = RMSNorm(h, eps)
        self.self_attn = _Namespace()
        self.self_attn.q_proj = nn.Linear(h, self.heads * d, bias=ab)
        self.self_attn.k_proj = nn.Linear(h, self.kv_heads * d, bias=ab)
        self.self_attn.v_proj = nn.Linear(h, self.kv_heads * d, bias=ab)
        self.self_attn.o_proj = nn.Linear(self.heads * d, h, bias=ab)
        self.post_attention_layernorm = RMSNorm(h, eps)
        self.mlp = _Namespace()
        self.mlp.gate_proj = nn.Linear(h, inter, bias=mb)
        self.mlp.up_proj = nn.Linear(h, inter, bias=mb)
        self.mlp.down_proj = nn.Linear(inter, h, bias=mb)
        self.act = activation(c.get("hidden_act", "silu"))

    def forward(self, h, visible, positions):
        b, s, _ = h.shape
        a = self.self_attn
        x = self.input_layernorm(h)
        q = rope(a.q_proj(x).view(b, s, self.heads, self.head_dim), positions, self.theta)
        k = rope(a.k_proj(x).view(b, s, self.kv_heads, self.head_dim), positions, self.theta)
        v = a.v_proj(x).view(b, s, self.kv_heads, self.head_dim)
        h = h + a.o_proj(_attend(q, k, v, visible).reshape(b, s, -1))
        x = self.post_attention_layernorm(h)
        return h + self.mlp.down_proj(self.act(self.mlp.gate_proj(x)) * self.mlp.up_proj(x))


class LlamaForCausalLM(_Module):
    def __init__(self, config):
        super().__init__(config, "llama")
        c = self.config
        if c.get("rope_scaling"):
            raise ValueError("rope_scaling is not supported")
        h = c["hidden_size"]
        self.model = _Namespace()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], h)
        self.model.layers = nn.ModuleList(_LlamaLayer(c) for _ in range(c["num_hidden_layers"]))
        self.model.norm = RMSNorm(h, c.get("rms_norm_eps", 1e-6))
        self.lm_head = nn.Linear(h, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", False):
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids, attention_mask=None):
        ids = torch.as_tensor(input_ids)
        visible = _causal(_key_mask(attention_mask, ids))
        positions = torch.arange(ids.shape[1], device=ids.device)
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h = layer(h, visible, positions)
        return self.lm_head(self.model.norm(h))


# --- GPT-2 ------------------------------------------------------------------------------

class Conv1D(nn.Module):
    """GPT-2's Conv1D: a linear layer whose weight is stored [in, out]."""

    def __init__(self, inp, out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(inp, out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(out))

    def forward(self, x):
        return x @ self.weight + self.bias


class _GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, eps = c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        inner = c.get("n_inner") or 4 * h
        self.heads = c["n_head"]
        self.ln_1 = nn.LayerNorm(h, eps=eps)
        self.attn = _Namespace()
        self.attn.c_attn = Conv1D(h, 3 * h)
        self.attn.c_proj = Conv1D(h, h)
        self.ln_2 = nn.LayerNorm(h, eps=eps)
        self.mlp = _Namespace()
        self.mlp.c_fc = Conv1D(h, inner)
        self.mlp.c_proj = Conv1D(inner, h)
        self.act = activation(c.get("activation_function", "gelu_new"))

    def forward(self, h, visible):
        b, s, hidden = h.shape
        q, k, v = (t.reshape(b, s, self.heads, -1)
                   for t in self.attn.c_attn(self.ln_1(h)).split(hidden, -1))
        h = h + self.attn.c_proj(_attend(q, k, v, visible).reshape(b, s, hidden))
        return h + self.mlp.c_proj(self.act(self.mlp.c_fc(self.ln_2(h))))


class GPT2LMHeadModel(_Module):
    def __init__(self, config):
        super().__init__(config, "gpt2")
        c = self.config
        for key, ok in (("scale_attn_by_inverse_layer_idx", False), ("scale_attn_weights", True)):
            if c.get(key, ok) != ok:
                raise ValueError(f"{key}={c[key]} is not supported")
        h = c["n_embd"]
        self.transformer = _Namespace()
        self.transformer.wte = nn.Embedding(c["vocab_size"], h)
        self.transformer.wpe = nn.Embedding(c["n_positions"], h)
        self.transformer.h = nn.ModuleList(_GPT2Block(c) for _ in range(c["n_layer"]))
        self.transformer.ln_f = nn.LayerNorm(h, eps=c.get("layer_norm_epsilon", 1e-5))
        self.lm_head = nn.Linear(h, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, input_ids, attention_mask=None):
        ids = torch.as_tensor(input_ids)
        t = self.transformer
        visible = _causal(_key_mask(attention_mask, ids))
        h = t.wte(ids) + t.wpe(torch.arange(ids.shape[1], device=ids.device))[None]
        for block in t.h:
            h = block(h, visible)
        return self.lm_head(t.ln_f(h))


# --- Mamba ------------------------------------------------------------------------------

def mamba_dims(c):
    """(d_inner, state_size, conv_kernel, time_step_rank)."""
    h = c["hidden_size"]
    d_inner = c.get("intermediate_size") or int(c.get("expand", 2) * h)
    rank = c.get("time_step_rank", "auto")
    rank = math.ceil(h / 16) if rank == "auto" else rank
    return d_inner, c.get("state_size", 16), c.get("conv_kernel", 4), rank


class _MambaMixer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        d, n, k, rank = mamba_dims(c)
        self.dims = (d, n, k, rank)
        self.in_proj = nn.Linear(h, 2 * d, bias=bool(c.get("use_bias", False)))
        self.conv1d = nn.Conv1d(d, d, k, groups=d, padding=k - 1,
                                bias=bool(c.get("use_conv_bias", True)))
        self.x_proj = nn.Linear(d, rank + 2 * n, bias=False)
        self.dt_proj = nn.Linear(rank, d, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32))
                                  .repeat(d, 1))
        self.D = nn.Parameter(torch.ones(d))
        self.out_proj = nn.Linear(d, h, bias=bool(c.get("use_bias", False)))
        self.act = activation(c.get("hidden_act", "silu"))

    def forward(self, x, real=None):
        b, s, _ = x.shape
        d, n, k, rank = self.dims
        x, z = self.in_proj(x).chunk(2, -1)
        if real is not None:
            x = x * real
        x = self.act(self.conv1d(x.transpose(1, 2))[..., :s]).transpose(1, 2)
        if real is not None:
            x = x * real
        dt, bm, cm = self.x_proj(x).split([rank, n, n], -1)
        dt = F.softplus(self.dt_proj(dt))                       # [B, S, d]
        a = -torch.exp(self.A_log)                              # [d, N]
        decay = torch.exp(dt[..., None] * a)                    # [B, S, d, N]
        drive = (dt * x)[..., None] * bm[:, :, None, :]         # [B, S, d, N]
        state = x.new_zeros(b, d, n)
        ys = []
        for t in range(s):
            state = decay[:, t] * state + drive[:, t]
            ys.append(torch.einsum("bdn,bn->bd", state, cm[:, t]))
        y = (torch.stack(ys, 1) + x * self.D) * self.act(z)
        return self.out_proj(y)


class _MambaBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = RMSNorm(c["hidden_size"], c.get("layer_norm_epsilon", 1e-5))
        self.mixer = _MambaMixer(c)

    def forward(self, h, real=None):
        return h + self.mixer(self.norm(h), real)


class MambaForCausalLM(_Module):
    def __init__(self, config):
        super().__init__(config, "mamba")
        c = self.config
        h = c["hidden_size"]
        self.backbone = _Namespace()
        self.backbone.embeddings = nn.Embedding(c["vocab_size"], h)
        self.backbone.layers = nn.ModuleList(_MambaBlock(c) for _ in range(c["num_hidden_layers"]))
        self.backbone.norm_f = RMSNorm(h, c.get("layer_norm_epsilon", 1e-5))
        self.lm_head = nn.Linear(h, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.backbone.embeddings.weight

    def forward(self, input_ids, attention_mask=None):
        ids = torch.as_tensor(input_ids)
        h = self.backbone.embeddings(ids)
        real = None
        if attention_mask is not None:
            real = _key_mask(attention_mask, ids)[..., None].to(h.dtype)
        for layer in self.backbone.layers:
            h = layer(h, real)
        return self.lm_head(self.backbone.norm_f(h))


# --- construction -----------------------------------------------------------------------

CLASSES = {"bert": BertModel, "llama": LlamaForCausalLM, "gpt2": GPT2LMHeadModel,
           "mamba": MambaForCausalLM}
# The prefix each module's names carry / the importer's optional prefix.
_PREFIX = {"bert": ("", "bert."), "gpt2": ("transformer.", "transformer.")}


def family_of(config):
    family = config.get("model_type")
    if family in CLASSES:
        return family
    for arch in config.get("architectures") or []:
        for name in CLASSES:
            if arch.lower().startswith(name):
                return name
    raise ValueError(f"model_type {family!r} is not one of {', '.join(FAMILIES)}")


def build(config, **options):
    """The module of config's family, randomly initialised (float32)."""
    return CLASSES[family_of(config)](config, **options)


def _normalize_names(family, module, state):
    """Renames a checkpoint's tensors to `module`'s names (adds or strips
    the optional base-model prefix; fills tied output embeddings)."""
    names = set(module.state_dict())
    out = {}
    for name, value in state.items():
        if name not in names and family in _PREFIX:
            want, optional = _PREFIX[family]
            if want and want + name in names:
                name = want + name
            elif not want and name.startswith(optional) and name[len(optional):] in names:
                name = name[len(optional):]
        out[name] = value
    return out


def from_state(config, state, **options):
    """build(config) with the tensors of `state` (name -> numpy array or
    tensor) loaded; every module parameter must be present except a tied
    lm_head.weight, and BERT's pooler when the checkpoint has none."""
    family = family_of(config)
    if family == "bert" and "pooler" not in options:
        options["pooler"] = any("pooler." in n for n in state)
    module = build(config, **options)
    state = _normalize_names(family, module, state)
    tensors = {n: torch.as_tensor(np.asarray(v) if not isinstance(v, torch.Tensor) else v)
               .to(torch.float32) for n, v in state.items()}
    own = module.state_dict()
    if "lm_head.weight" in own and "lm_head.weight" not in tensors:
        if module.lm_head.weight is _embedding(module).weight:
            tensors["lm_head.weight"] = tensors.get(_embedding_name(family))
    unexpected = sorted(set(tensors) - set(own))
    missing = sorted(set(own) - set(tensors))
    if unexpected or missing:
        raise ValueError(f"{family}: checkpoint does not match the module: missing "
                         f"{missing[:5]}, unexpected {unexpected[:5]}")
    module.load_state_dict(tensors)
    return module.eval()


def _embedding_name(family):
    return {"llama": "model.embed_tokens.weight", "gpt2": "transformer.wte.weight",
            "mamba": "backbone.embeddings.weight"}[family]


def _embedding(module):
    family = family_of(module.config)
    obj = module
    for part in _embedding_name(family).split(".")[:-1]:
        obj = getattr(obj, part)
    return obj


def from_folder(path, **options):
    """from_state of a Hugging Face folder (config.json + safetensors)."""
    from kiln import reference
    config, state = reference.load_hf_folder(path)
    return from_state(config, state, **options)
