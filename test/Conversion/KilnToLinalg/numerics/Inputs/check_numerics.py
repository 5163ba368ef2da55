"""Compares kiln-lower-to-linalg against PyTorch/numpy references.

Usage: check_numerics.py FAMILY KILN_OPT

Inputs come from numpy's generator with a fixed seed; shapes are small and
odd (batch 2, seq 7, heads 4 / kv_heads 2, head_dim 8). Exits 1 when any
output is outside `atol + rtol * |ref|` (stated per case, printed per output).
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Case, run  # noqa: E402

rng = np.random.default_rng(1234)


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def t(a):
    return torch.from_numpy(np.asarray(a)).double()


ACTS = {
    "identity": lambda x: x,
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "relu": F.relu,
}

#===----------------------------------------------------------------------===#
# linear / ffn
#===----------------------------------------------------------------------===#


def linear_cases():
    cases = []
    x = randn(2, 7, 12)
    w_oi, w_io, b = randn(10, 12), randn(12, 10), randn(10)
    cases.append(Case(
        "linear_out_in_bias",
        "%r = kiln.linear %a0, %a1 bias %a2 : ({T[0]}, {T[1]}, {T[2]}) -> {R[0]}",
        [(x, 2), (w_oi, 0), (b, 0)], [F.linear(t(x), t(w_oi), t(b))], [2]))
    cases.append(Case(
        "linear_in_out_bias",
        "%r = kiln.linear %a0, %a1 bias %a2 layout <in_out> : ({T[0]}, {T[1]}, "
        "{T[2]}) -> {R[0]}",
        [(x, 2), (w_io, 0), (b, 0)], [t(x) @ t(w_io) + t(b)], [2]))
    x2 = randn(5, 12)
    cases.append(Case(
        "linear_2d_nobias",
        "%r = kiln.linear %a0, %a1 : ({T[0]}, {T[1]}) -> {R[0]}",
        [(x2, 1), (w_oi, 0)], [F.linear(t(x2), t(w_oi))], [1]))

    hidden, inter = 6, 10
    xf = randn(2, 7, hidden)
    up, gate, down = randn(inter, hidden), randn(inter, hidden), randn(hidden, inter)
    ref = F.linear(F.silu(F.linear(t(xf), t(gate))) * F.linear(t(xf), t(up)),
                   t(down))
    cases.append(Case(
        "ffn_swiglu",
        "%r = kiln.ffn %a0 up %a1 gate %a2 down %a3 activation <silu> : "
        "({T[0]}, {T[1]}, {T[2]}, {T[3]}) -> {R[0]}",
        [(xf, 2), (up, 0), (gate, 0), (down, 0)], [ref], [2]))
    ub, gb, db = randn(inter), randn(inter), randn(hidden)
    ref = F.linear(F.gelu(F.linear(t(xf), t(gate), t(gb))) *
                   F.linear(t(xf), t(up), t(ub)), t(down), t(db))
    cases.append(Case(
        "ffn_geglu_biases",
        "%r = kiln.ffn %a0 up %a1 gate %a2 down %a3 up_bias %a4 gate_bias %a5 "
        "down_bias %a6 activation <gelu> : ({T[0]}, {T[1]}, {T[2]}, {T[3]}, "
        "{T[4]}, {T[5]}, {T[6]}) -> {R[0]}",
        [(xf, 2), (up, 0), (gate, 0), (down, 0), (ub, 0), (gb, 0), (db, 0)],
        [ref], [2]))
    up_io, down_io = np.ascontiguousarray(up.T), np.ascontiguousarray(down.T)
    for act in ["gelu_tanh", "relu"]:
        ref = F.linear(ACTS[act](F.linear(t(xf), t(up), t(ub))), t(down), t(db))
        cases.append(Case(
            "ffn_plain_in_out_" + act,
            "%r = kiln.ffn %a0 up %a1 down %a2 up_bias %a3 down_bias %a4 "
            "activation <" + act + "> layout <in_out> : ({T[0]}, {T[1]}, "
            "{T[2]}, {T[3]}, {T[4]}) -> {R[0]}",
            [(xf, 2), (up_io, 0), (down_io, 0), (ub, 0), (db, 0)], [ref], [2]))
    return cases, True

#===----------------------------------------------------------------------===#
# pointwise, norms, rope, embedding
#===----------------------------------------------------------------------===#


def hf_rope_half(x, pos, theta, rot):
    inv = 1.0 / (theta ** (torch.arange(0, rot, 2).float() / rot))
    freqs = torch.from_numpy(pos).float()[..., None] * inv
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[..., None, :], emb.sin()[..., None, :]
    xt = torch.from_numpy(x)
    xr, xp = xt[..., :rot], xt[..., rot:]
    half = rot // 2
    rotated = torch.cat((-xr[..., half:], xr[..., :half]), dim=-1)
    return torch.cat((xr * cos + rotated * sin, xp), dim=-1)


def gptj_rope_interleaved(x, pos, theta, rot):
    inv = 1.0 / (theta ** (torch.arange(0, rot, 2).float() / rot))
    freqs = torch.from_numpy(pos).float()[..., None] * inv
    cos = freqs.cos().repeat_interleave(2, dim=-1)[..., None, :]
    sin = freqs.sin().repeat_interleave(2, dim=-1)[..., None, :]
    xt = torch.from_numpy(x)
    xr, xp = xt[..., :rot], xt[..., rot:]
    rotated = torch.stack((-xr[..., 1::2], xr[..., ::2]), dim=-1).flatten(-2)
    return torch.cat((xr * cos + rotated * sin, xp), dim=-1)


def pointwise_cases():
    cases = []
    x = randn(2, 7, 9, scale=2.0)
    for act, fn in ACTS.items():
        cases.append(Case("act_" + act,
                          "%r = kiln.activation <" + act + "> %a0 : {T[0]}",
                          [(x, 2)], [fn(t(x))], [2]))
    y = randn(2, 7, 9)
    cases.append(Case("add", "%r = kiln.add %a0, %a1 : {T[0]}",
                      [(x, 2), (y, 2)], [t(x) + t(y)], [2]))
    cases.append(Case("mul", "%r = kiln.mul %a0, %a1 : {T[0]}",
                      [(x, 2), (y, 2)], [t(x) * t(y)], [2]))

    table = randn(11, 6)
    ids = rng.integers(0, 11, size=(2, 7)).astype(np.int64)
    cases.append(Case("embedding",
                      "%r = kiln.embedding %a0[%a1] : {T[0]}, {T[1]} -> {R[0]}",
                      [(table, 0), (ids, 2)], [table[ids]], [2]))

    h = randn(2, 7, 16, scale=3.0) + 1.5
    g, bb = randn(16), randn(16)
    cases.append(Case(
        "layer_norm_affine",
        "%r = kiln.layer_norm %a0 weight %a1 bias %a2 epsilon 1.0e-05 : "
        "({T[0]}, {T[1]}, {T[2]}) -> {R[0]}",
        [(h, 2), (g, 0), (bb, 0)],
        [F.layer_norm(t(h), (16,), t(g), t(bb), 1e-5)], [2]))
    cases.append(Case(
        "layer_norm_plain",
        "%r = kiln.layer_norm %a0 epsilon 1.0e-12 : ({T[0]}) -> {R[0]}",
        [(h, 2)], [F.layer_norm(t(h), (16,), None, None, 1e-12)], [2]))
    ht = t(h)
    rms = ht * torch.rsqrt(ht.pow(2).mean(-1, keepdim=True) + 1e-6) * t(g)
    cases.append(Case(
        "rms_norm",
        "%r = kiln.rms_norm %a0 weight %a1 epsilon 1.0e-06 : ({T[0]}, {T[1]}) "
        "-> {R[0]}", [(h, 2), (g, 0)], [rms], [2]))

    q = randn(2, 7, 4, 8)
    pos = rng.integers(0, 100, size=(2, 7)).astype(np.int64)
    rope = ("%r = kiln.rope %a0 positions %a1 theta 1.0e+04 {extra}: "
            "({{T[0]}}, {{T[1]}}) -> {{R[0]}}")
    cases.append(Case("rope_half", rope.format(extra=""), [(q, 2), (pos, 2)],
                      [hf_rope_half(q, pos, 10000.0, 8)], [2]))
    cases.append(Case("rope_interleaved",
                      rope.format(extra="style <interleaved> "),
                      [(q, 2), (pos, 2)],
                      [gptj_rope_interleaved(q, pos, 10000.0, 8)], [2]))
    cases.append(Case("rope_half_partial", rope.format(extra="rotary_dim 4 "),
                      [(q, 2), (pos, 2)], [hf_rope_half(q, pos, 10000.0, 4)],
                      [2]))
    cases.append(Case("rope_interleaved_partial",
                      rope.format(extra="rotary_dim 6 style <interleaved> "),
                      [(q, 2), (pos, 2)],
                      [gptj_rope_interleaved(q, pos, 10000.0, 6)], [2]))
    qp = randn(9, 4, 8)
    posp = rng.integers(0, 50, size=(9,)).astype(np.int32)
    cases.append(Case("rope_packed", rope.format(extra=""),
                      [(qp, 1), (posp, 1)],
                      [hf_rope_half(qp, posp, 10000.0, 8)], [1]))

    flat = randn(2, 7, 12)
    cases.append(Case(
        "split_merge_heads",
        "%s = kiln.split_heads %a0 heads 3 : {T[0]} -> tensor<?x?x3x4xf32>\n"
        "  %s2 = kiln.mul %s, %s : tensor<?x?x3x4xf32>\n"
        "  %r = kiln.merge_heads %s2 : tensor<?x?x3x4xf32> -> {R[0]}",
        [(flat, 2)], [t(flat) ** 2], [2]))
    return cases, False

#===----------------------------------------------------------------------===#
# attention
#===----------------------------------------------------------------------===#


def mask_allows(kind, qp, kp, window=0, block=0, local=0, glob=0):
    if kind in ("none", "padding"):
        return True
    if kind == "causal":
        return kp <= qp
    if kind == "sliding_window":
        return kp <= qp and qp - window < kp
    qb, kb = qp // block, kp // block
    return abs(qb - kb) < local or qb < glob or kb < glob


def ref_attention(q, k, v, heads, kv_heads, kind="none", key_mask=None,
                  scale=None, clip=None, offsets=None, limits=None, **mask):
    """Softmax attention by the book, in float64, K/V repeated per group."""
    qt, kt, vt = t(q), t(k), t(v)
    batch, sq, _, d = q.shape
    skv = k.shape[1]
    group = heads // kv_heads
    kt = kt.repeat_interleave(group, dim=2)
    vt = vt.repeat_interleave(group, dim=2)
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    s = torch.einsum("bihd,bjhd->bhij", qt, kt) * scale
    allowed = torch.zeros(batch, 1, sq, skv, dtype=torch.bool)
    for b in range(batch):
        off = 0 if offsets is None else offsets[b]
        for i in range(sq):
            for j in range(skv):
                ok = mask_allows(kind, off + i, j, **mask)
                if limits is not None:
                    ok = ok and j < limits[b]
                if key_mask is not None:
                    ok = ok and key_mask[b, j] != 0
                allowed[b, 0, i, j] = bool(ok)
    s = s.masked_fill(~allowed, float("-inf"))
    p = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
    if clip is not None:
        zeta, gamma = clip
        p = torch.clamp((zeta - gamma) * p + gamma, 0.0, 1.0)
    p = p * allowed.any(-1, keepdim=True)
    return torch.einsum("bhij,bjhe->bihe", p, vt)


ATT = ("%r = kiln.attention %a0, %a1, %a2 {extra} heads {h} kv_heads {kv} "
       "{attrs}: ({types}) -> {{R[0]}}")


def attention_op(n, h, kv, extra="", attrs="", results="{R[0]}"):
    types = ", ".join("{T[%d]}" % i for i in range(n))
    return ATT.format(extra=extra, h=h, kv=kv, attrs=attrs,
                      types=types).replace("{R[0]}", results)


def attention_cases():
    cases = []
    B, S, D = 2, 7, 8
    q = randn(B, S, 4, D)
    k4, v4 = randn(B, S, 4, D), randn(B, S, 4, D)
    k2, v2 = randn(B, S, 2, D), randn(B, S, 2, D)
    cases.append(Case("att_none_mha", attention_op(3, 4, 4),
                      [(q, 2), (k4, 2), (v4, 2)],
                      [ref_attention(q, k4, v4, 4, 4)], [2]))
    cases.append(Case("att_causal_gqa", attention_op(3, 4, 2,
                                                     attrs="mask <causal> "),
                      [(q, 2), (k2, 2), (v2, 2)],
                      [ref_attention(q, k2, v2, 4, 2, "causal")], [2]))
    km = np.ones((B, S), dtype=np.int64)
    km[0, 5:] = 0
    km[1, :] = 0  # every key hidden: the rows must be zeros, not NaN
    cases.append(Case("att_padding_key_mask",
                      attention_op(4, 4, 2, extra="key_mask %a3",
                                   attrs="mask <padding> "),
                      [(q, 2), (k2, 2), (v2, 2), (km, 2)],
                      [ref_attention(q, k2, v2, 4, 2, "padding", key_mask=km)],
                      [2]))
    km2 = np.ones((B, S), dtype=np.int64)
    km2[1, :2] = 0  # left padding with causal: early rows fully hidden
    cases.append(Case("att_causal_key_mask",
                      attention_op(4, 4, 2, extra="key_mask %a3",
                                   attrs="mask <causal> "),
                      [(q, 2), (k2, 2), (v2, 2), (km2, 2)],
                      [ref_attention(q, k2, v2, 4, 2, "causal", key_mask=km2)],
                      [2]))
    k1, v1 = randn(B, S, 1, D), randn(B, S, 1, D)
    cases.append(Case("att_sliding_mqa_scale",
                      attention_op(3, 4, 1, attrs="scale 3.0e-01 mask "
                                   "<sliding_window 3> "),
                      [(q, 2), (k1, 2), (v1, 2)],
                      [ref_attention(q, k1, v1, 4, 1, "sliding_window",
                                     scale=0.3, window=3)], [2]))
    S9 = 9
    q9, k9, v9 = randn(B, S9, 4, D), randn(B, S9, 2, D), randn(B, S9, 2, D)
    cases.append(Case("att_block_sparse",
                      attention_op(3, 4, 2, attrs="mask <block_sparse block = "
                                   "2, local = 1, global = 1> "),
                      [(q9, 2), (k9, 2), (v9, 2)],
                      [ref_attention(q9, k9, v9, 4, 2, "block_sparse", block=2,
                                     local=1, glob=1)], [2]))
    cases.append(Case("att_block_sparse_local2",
                      attention_op(3, 4, 2, attrs="mask <block_sparse block = "
                                   "3, local = 2, global = 0> "),
                      [(q9, 2), (k9, 2), (v9, 2)],
                      [ref_attention(q9, k9, v9, 4, 2, "block_sparse", block=3,
                                     local=2, glob=0)], [2]))
    cases.append(Case("att_clipped_causal",
                      attention_op(3, 4, 2, attrs="mask <causal> softmax "
                                   "<clipped zeta = 1.1, gamma = -0.1> "),
                      [(q, 2), (k2, 2), (v2, 2)],
                      [ref_attention(q, k2, v2, 4, 2, "causal",
                                     clip=(1.1, -0.1))], [2]))
    v6 = randn(B, S, 2, 6)
    cases.append(Case("att_value_dim6", attention_op(3, 4, 2,
                                                     attrs="mask <causal> "),
                      [(q, 2), (k2, 2), (v6, 2)],
                      [ref_attention(q, k2, v6, 4, 2, "causal")], [2]))
    # Packed: sequences of 3, 4 and 5 tokens.
    cu = np.array([0, 3, 7, 12], dtype=np.int32)
    qp, kp, vp = randn(12, 4, D), randn(12, 2, D), randn(12, 2, D)
    ref = np.zeros((12, 4, D))
    for s in range(3):
        a, e = cu[s], cu[s + 1]
        ref[a:e] = ref_attention(qp[None, a:e], kp[None, a:e], vp[None, a:e],
                                 4, 2, "causal")[0].numpy()
    cases.append(Case("att_packed_causal",
                      attention_op(4, 4, 2, extra="cu_seqlens %a3",
                                   attrs="mask <causal> "),
                      [(qp, 1), (kp, 1), (vp, 1), (cu, 1)], [ref], [1]))
    # KV cache: 3 and 5 tokens cached, 2 new ones each, capacity 9.
    cap, new = 9, 2
    kc, vc = randn(B, cap, 2, D), randn(B, cap, 2, D)
    qn, kn, vn = randn(B, new, 4, D), randn(B, new, 2, D), randn(B, new, 2, D)
    pos = np.array([3, 5], dtype=np.int64)
    kmc = np.ones((B, cap), dtype=np.int64)
    kmc[0, 0] = 0
    kc_ref, vc_ref = kc.copy(), vc.copy()
    for b in range(B):
        kc_ref[b, pos[b]:pos[b] + new] = kn[b]
        vc_ref[b, pos[b]:pos[b] + new] = vn[b]
    for kind, attrs, mask in [("causal", "mask <causal> ", {}),
                              ("sliding_window", "mask <sliding_window 3> ",
                               {"window": 3})]:
        out = ref_attention(qn, kc_ref, vc_ref, 4, 2, kind, key_mask=kmc,
                            offsets=pos, limits=pos + new, **mask)
        cases.append(Case(
            "att_kv_cache_" + kind,
            attention_op(7, 4, 2, extra="key_mask %a3 cache(%a4, %a5) "
                         "positions %a6", attrs=attrs,
                         results="({R[0]}, {R[1]}, {R[2]})").replace(
                             "%r =", "%r:3 ="),
            [(qn, 2), (kn, 2), (vn, 2), (kmc, 1), (kc, 1), (vc, 1), (pos, 1)],
            [out, kc_ref, vc_ref], [2, 1, 1]))
    return cases, False

#===----------------------------------------------------------------------===#
# selective scan, causal conv1d
#===----------------------------------------------------------------------===#


def ref_scan(x, dt, A, Bm, C, D=None, z=None, dt_bias=None, softplus=False,
             h0=None):
    x, dt, A, Bm, C = map(t, (x, dt, A, Bm, C))
    delta = dt + (t(dt_bias) if dt_bias is not None else 0)
    if softplus:
        delta = F.softplus(delta)
    batch, length, ch = x.shape
    h = torch.zeros(batch, ch, A.shape[1], dtype=torch.float64) \
        if h0 is None else t(h0).clone()
    ys = []
    for i in range(length):
        h = torch.exp(delta[:, i, :, None] * A) * h + \
            delta[:, i, :, None] * Bm[:, i, None, :] * x[:, i, :, None]
        ys.append((h * C[:, i, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + x * t(D)
    if z is not None:
        y = y * F.silu(t(z))
    return y, h


def ref_conv(x, w, bias=None, act="identity", state=None):
    batch, length, ch = x.shape
    k = w.shape[1]
    xin = t(x).transpose(1, 2)
    hist = torch.zeros(batch, ch, k - 1, dtype=torch.float64) \
        if state is None else t(state)
    xin = torch.cat((hist, xin), dim=-1)
    y = F.conv1d(xin, t(w)[:, None, :], None if bias is None else t(bias),
                 groups=ch)
    return ACTS[act](y).transpose(1, 2), xin[..., xin.shape[-1] - (k - 1):]


def ssm_cases():
    cases = []
    B, L, Dc, N = 2, 7, 5, 3
    x, dt, z = randn(B, L, Dc), randn(B, L, Dc), randn(B, L, Dc)
    dt[0, 0, 0] = 30.0  # beyond softplus' threshold
    A = -np.exp(randn(Dc, N)).astype(np.float32)
    Bm, C = randn(B, L, N), randn(B, L, N)
    Dv, db = randn(Dc), randn(Dc)
    y, _ = ref_scan(x, dt, A, Bm, C, Dv, z, db, True)
    cases.append(Case(
        "scan_full",
        "%r = kiln.selective_scan %a0, %a1, %a2, %a3, %a4 D %a5 z %a6 dt_bias "
        "%a7 dt_softplus : ({T[0]}, {T[1]}, {T[2]}, {T[3]}, {T[4]}, {T[5]}, "
        "{T[6]}, {T[7]}) -> {R[0]}",
        [(x, 2), (dt, 2), (A, 0), (Bm, 2), (C, 2), (Dv, 0), (z, 2), (db, 0)],
        [y], [2], atol=2e-5))
    dtp = np.abs(dt) * 0.5
    h0 = randn(B, Dc, N)
    y, hl = ref_scan(x, dtp, A, Bm, C, h0=h0)
    cases.append(Case(
        "scan_states",
        "%r:2 = kiln.selective_scan %a0, %a1, %a2, %a3, %a4 initial_state %a5 "
        ": ({T[0]}, {T[1]}, {T[2]}, {T[3]}, {T[4]}, {T[5]}) -> ({R[0]}, "
        "{R[1]})",
        [(x, 2), (dtp, 2), (A, 0), (Bm, 2), (C, 2), (h0, 1)], [y, hl], [2, 1],
        atol=2e-5))
    cu = np.array([0, 4, 5, 11], dtype=np.int32)
    T = 11
    xp, dtq, zp = randn(T, Dc), randn(T, Dc), randn(T, Dc)
    Bp, Cp = randn(T, N), randn(T, N)
    h0p = randn(3, Dc, N)
    yref, href = np.zeros((T, Dc)), np.zeros((3, Dc, N))
    for s in range(3):
        a, e = cu[s], cu[s + 1]
        ys, hs = ref_scan(xp[None, a:e], dtq[None, a:e], A, Bp[None, a:e],
                          Cp[None, a:e], Dv, zp[None, a:e], db, True,
                          h0p[s:s + 1])
        yref[a:e], href[s] = ys[0].numpy(), hs[0].numpy()
    cases.append(Case(
        "scan_packed",
        "%r:2 = kiln.selective_scan %a0, %a1, %a2, %a3, %a4 D %a5 z %a6 dt_bias "
        "%a7 cu_seqlens %a8 initial_state %a9 dt_softplus : ({T[0]}, {T[1]}, "
        "{T[2]}, {T[3]}, {T[4]}, {T[5]}, {T[6]}, {T[7]}, {T[8]}, {T[9]}) -> "
        "({R[0]}, {R[1]})",
        [(xp, 1), (dtq, 1), (A, 0), (Bp, 1), (Cp, 1), (Dv, 0), (zp, 1),
         (db, 0), (cu, 1), (h0p, 1)], [yref, href], [1, 1], atol=2e-5))

    K = 4
    w, bias = randn(Dc, K), randn(Dc)
    y, _ = ref_conv(x, w, bias, "silu")
    cases.append(Case(
        "conv_bias_silu",
        "%r = kiln.causal_conv1d %a0, %a1 bias %a2 activation <silu> : "
        "({T[0]}, {T[1]}, {T[2]}) -> {R[0]}",
        [(x, 2), (w, 0), (bias, 0)], [y], [2]))
    st = randn(B, Dc, K - 1)
    x2 = randn(B, 2, Dc)  # shorter than K - 1: the state keeps history
    for name, xin in [("conv_states", x), ("conv_states_short", x2)]:
        y, fs = ref_conv(xin, w, None, "identity", st)
        cases.append(Case(
            name,
            "%r:2 = kiln.causal_conv1d %a0, %a1 initial_state %a2 : ({T[0]}, "
            "{T[1]}, {T[2]}) -> ({R[0]}, {R[1]})",
            [(xin, 2), (w, 0), (st, 1)], [y, fs], [2, 1]))
    stp = randn(3, Dc, K - 1)
    yref, sref = np.zeros((T, Dc)), np.zeros((3, Dc, K - 1))
    for s in range(3):
        a, e = cu[s], cu[s + 1]
        ys, ss = ref_conv(xp[None, a:e], w, bias, "silu", stp[s:s + 1])
        yref[a:e], sref[s] = ys[0].numpy(), ss[0].numpy()
    cases.append(Case(
        "conv_packed",
        "%r:2 = kiln.causal_conv1d %a0, %a1 bias %a2 cu_seqlens %a3 "
        "initial_state %a4 activation <silu> : ({T[0]}, {T[1]}, {T[2]}, "
        "{T[3]}, {T[4]}) -> ({R[0]}, {R[1]})",
        [(xp, 1), (w, 0), (bias, 0), (cu, 1), (stp, 1)], [yref, sref], [1, 1]))
    return cases, False

#===----------------------------------------------------------------------===#
# pack / unpack
#===----------------------------------------------------------------------===#


def pack_cases():
    cases = []
    B, S, H = 3, 5, 4
    x = randn(B, S, H)
    lengths = np.array([2, 5, 3], dtype=np.int32)
    cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    for side in ["right", "left"]:
        rows = [x[b, :lengths[b]] if side == "right" else x[b, S - lengths[b]:]
                for b in range(B)]
        packed = np.concatenate(rows)
        cases.append(Case(
            "pack_" + side,
            "%r:2 = kiln.pack %a0 lengths %a1 side <" + side + "> : ({T[0]}, "
            "{T[1]}) -> ({R[0]}, {R[1]})",
            [(x, 2), (lengths, 1)], [packed, cu], [1, 1]))
        seq = 6
        padded = np.zeros((B, seq, H), dtype=np.float32)
        for b in range(B):
            if side == "right":
                padded[b, :lengths[b]] = rows[b]
            else:
                padded[b, seq - lengths[b]:] = rows[b]
        cases.append(Case(
            "unpack_" + side,
            "%r = kiln.unpack %a0 cu_seqlens %a1 seq_len %a2 side <" + side +
            "> : ({T[0]}, {T[1]}, index) -> {R[0]}",
            [(packed, 1), (cu, 1), ("index", seq)], [padded], [2]))
    return cases, False


FAMILIES = {
    "linear": linear_cases,
    "pointwise": pointwise_cases,
    "attention": attention_cases,
    "ssm": ssm_cases,
    "pack": pack_cases,
}

if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in FAMILIES:
        sys.exit("usage: check_numerics.py {%s} KILN_OPT [LOWERING_OPTIONS]"
                 % "|".join(FAMILIES))
    cases, inline = FAMILIES[sys.argv[1]]()
    run(cases, sys.argv[2], inline=inline,
        lowering_options=sys.argv[3] if len(sys.argv) == 4 else "")
