"""Shared pieces of the e2e cases: the Case record, MLIR spelling helpers,
random data and the PyTorch reference formulas used by several families.

Every reference is computed in float64 from the very float32 inputs and
weights that Kiln receives.
"""

import math

import numpy as np
import torch

from kiln.testing import Tolerance

FP32 = Tolerance(rtol=1e-4, atol=1e-5)

# The shapes every token-wise case runs on, from one compiled model:
# batch 1 and 3, sequence lengths that are not multiples of any tile size.
SHAPES = [dict(batch=b, seq=s) for b in (1, 3) for s in (1, 7, 37, 129)]
FEW_SHAPES = [dict(batch=1, seq=1), dict(batch=1, seq=37),
              dict(batch=3, seq=7), dict(batch=3, seq=129)]


class Case:
    """One compiled model and the shapes it runs on.

    build(rng) -> (mlir_text, weights dict)
    inputs(rng, shape, weights) -> dict input name -> numpy array
    reference(inputs, weights) -> dict output name -> array (float64)
    shapes: list of dicts handed to `inputs` (and printed).
    exact: output names compared bit for bit instead of with the tolerance.
    """

    def __init__(self, name, build, inputs, reference, shapes=SHAPES,
                 tolerance=FP32, exact=(), entry=None):
        self.name = name
        self.build = build
        self.inputs = inputs
        self.reference = reference
        self.shapes = shapes
        self.tolerance = tolerance
        self.exact = set(exact)
        self.entry = entry


# --- MLIR spelling -----------------------------------------------------------

def ttype(shape, dtype="f32"):
    """tensor<?x?x64xf32> from [None, None, 64] (None = dynamic)."""
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    return f"tensor<{dims}{dtype}>"


def arg(name, shape, dtype="f32", dims=None):
    """An entry argument named `name`, with kiln.dims when given."""
    attrs = f'kiln.name = "{name}"'
    if dims is not None:
        attrs += ", kiln.dims = [" + ", ".join(f'"{d}"' for d in dims) + "]"
    return f"%{name}: {ttype(shape, dtype)} {{{attrs}}}"


def result(name, shape, dtype="f32", dims=None):
    """An entry result type with its kiln.name (and kiln.dims)."""
    attrs = f'kiln.name = "{name}"'
    if dims is not None:
        attrs += ", kiln.dims = [" + ", ".join(f'"{d}"' for d in dims) + "]"
    return f"{ttype(shape, dtype)} {{{attrs}}}"


def param(ssa, name, shape, dtype="f32"):
    """A kiln.param line."""
    return f'  %{ssa} = kiln.param "{name}" : {ttype(shape, dtype)}'


def func(args, results, body, returns, name="forward"):
    """A func.func with the given argument strings, result strings, body lines
    and returned (ssa, type) pairs."""
    ret_values = ", ".join(f"%{v}" for v, _ in returns)
    ret_types = ", ".join(t for _, t in returns)
    return (f"func.func @{name}({', '.join(args)}) -> ({', '.join(results)}) {{\n"
            + "\n".join(body) + "\n"
            + f"  return {ret_values} : {ret_types}\n}}\n")


# --- data ---------------------------------------------------------------------

def normal(rng, shape, scale=1.0):
    """float32 N(0, scale^2) samples."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def weight(rng, shape):
    """float32 weight with the 1/sqrt(fan_in) scale of torch's default init."""
    return normal(rng, shape, 1.0 / math.sqrt(shape[-1]))


def t64(array):
    """A float64 torch tensor from a numpy array."""
    return torch.from_numpy(np.asarray(array)).double()


# --- reference formulas -------------------------------------------------------

def gelu_erf(x):
    """torch's exact GELU: x * Phi(x)."""
    return torch.nn.functional.gelu(x)


def gelu_tanh(x):
    """GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                       * (x + 0.044715 * x.pow(3))))


ACTIVATIONS = {
    "identity": lambda x: x,
    "gelu": gelu_erf,
    "gelu_tanh": gelu_tanh,
    "silu": torch.nn.functional.silu,
    "relu": torch.relu,
}


def layer_norm(x, g, b, eps):
    """torch.nn.functional.layer_norm over the last dim (biased variance)."""
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, eps)


def rms_norm(x, g, eps):
    """LLaMA's RMSNorm: x * rsqrt(mean(x^2) + eps) * g."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope(x, positions, theta, rotary_dim=None, style="half"):
    """Rotary embedding of HF's GPT-NeoX/LLaMA (`half`, rotate_half) or GPT-J
    (`interleaved`, rotate_every_two) on the first rotary_dim channels.
    x is [..., heads, head_dim]; positions has x's shape minus the last two."""
    d = x.shape[-1] if rotary_dim is None else rotary_dim
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = positions.double()[..., None] * inv_freq          # [..., d/2]
    cos, sin = angles.cos()[..., None, :], angles.sin()[..., None, :]
    rot, rest = x[..., :d], x[..., d:]
    if style == "half":
        x1, x2 = rot[..., :d // 2], rot[..., d // 2:]
        out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)
    else:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        out = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)
        out = out.flatten(-2)
    return torch.cat([out, rest], -1)


def sdpa(q, k, v, visible, scale=None, clip=None):
    """Reference attention on [B, Sq, H, D] / [B, Sk, KVH, D]: K/V heads are
    repeated for GQA (HF's repeat_kv), scores are scaled (1/sqrt(D) unless
    given), `visible` [B or 1, Sq, Sk] (bool) hides keys with -inf, softmax
    (or the clipped softmax clamp((zeta - gamma) p + gamma, 0, 1) when clip =
    (zeta, gamma)), and rows with no visible key give zeros."""
    heads, kv_heads = q.shape[2], k.shape[2]
    k = k.repeat_interleave(heads // kv_heads, dim=2)
    v = v.repeat_interleave(heads // kv_heads, dim=2)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * scale
    mask = visible[:, None, :, :]
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, -1)
    if clip is not None:
        zeta, gamma = clip
        probs = torch.clamp((zeta - gamma) * probs + gamma, 0.0, 1.0)
    probs = torch.nan_to_num(probs, nan=0.0)   # fully hidden rows -> zeros
    probs = probs.masked_fill(~mask, 0.0)
    return torch.einsum("bhqk,bkhd->bqhd", probs, v)
