"""kiln.attention: mask kinds, GQA, key_mask, clipped softmax, the packed
(varlen) layout and the KV cache. The reference is common.sdpa, i.e.
softmax(q k^T * scale + mask) v with repeat_kv for GQA, in float64."""

import numpy as np
import torch

from common import (FEW_SHAPES, SHAPES, Case, arg, func, normal, result,
                    sdpa, t64, ttype)

H, KVH, D = 4, 2, 16
BS = [None, None]

CLIP = (1.25, -0.05)            # zeta, gamma of the clipped softmax
WINDOW = 5
BLOCK, LOCAL, GLOBAL = 8, 2, 1


# --- padded layout: every mask kind on one set of inputs ------------------------

MASK_OUTPUTS = {
    # name: (key, value, extra operands, heads, attributes)
    "none_mha": ("%k4", "%v4", "", 4, "mask <none>"),
    "none_scaled": ("%k", "%v", "", 2, "scale 1.000000e-01"),
    "causal_gqa": ("%k", "%v", "", 2, "mask <causal>"),
    "causal_mqa": ("%k1", "%v1", "", 1, "mask <causal>"),
    "padding": ("%k", "%v", "key_mask %key_mask", 2, "mask <padding>"),
    "causal_left_pad": ("%k", "%v", "key_mask %left_mask", 2, "mask <causal>"),
    "sliding_window": ("%k", "%v", "", 2, f"mask <sliding_window {WINDOW}>"),
    "block_sparse": ("%k4", "%v4", "", 4,
                     f"mask <block_sparse block = {BLOCK}, local = {LOCAL}, "
                     f"global = {GLOBAL}>"),
    "clipped_causal": ("%k", "%v", "", 2,
                       f"mask <causal> softmax <clipped zeta = {CLIP[0]}, "
                       f"gamma = {CLIP[1]}>"),
}


def masks_build(rng):
    q = ttype(BS + [H, D])
    kv = {n: ttype(BS + [n, D]) for n in (1, 2, 4)}
    m = ttype(BS, "i64")
    body = []
    for i, (name, (k, v, extra, kvh, attrs)) in enumerate(MASK_OUTPUTS.items()):
        types = [q, kv[kvh], kv[kvh]] + ([m] if extra else [])
        body.append(f"  %o{i} = kiln.attention %q, {k}, {v} {extra} heads {H} "
                    f"kv_heads {kvh} {attrs} : ({', '.join(types)}) -> {q}")
    args = [arg("q", BS + [H, D])]
    for n, suffix in ((4, "4"), (2, ""), (1, "1")):
        args += [arg("k" + suffix, BS + [n, D]), arg("v" + suffix, BS + [n, D])]
    args += [arg("key_mask", BS, "i64"), arg("left_mask", BS, "i64")]
    mlir = func(args, [result(n, BS + [H, D]) for n in MASK_OUTPUTS], body,
                [(f"o{i}", q) for i in range(len(MASK_OUTPUTS))])
    return mlir, {}


def lengths_for(batch, seq):
    """Real-token counts: one full row, one partial, one fully padded row (the
    all-hidden row must give zeros)."""
    if batch == 1:
        return [max(1, (2 * seq + 2) // 3)]
    return [seq, (seq + 1) // 2, 0][:batch]


def masks_inputs(rng, shape, weights):
    b, s = shape["batch"], shape["seq"]
    out = {"q": normal(rng, (b, s, H, D))}
    for n, suffix in ((4, "4"), (2, ""), (1, "1")):
        out["k" + suffix] = normal(rng, (b, s, n, D))
        out["v" + suffix] = normal(rng, (b, s, n, D))
    lengths = lengths_for(b, s)
    pos = np.arange(s)
    out["key_mask"] = np.stack([(pos < n) for n in lengths]).astype(np.int64)
    out["left_mask"] = np.stack([(pos >= s - n) for n in lengths]).astype(np.int64)
    return out


def block_sparse_visible(s):
    """Longformer/BigBird-style layout: |qb - kb| < local, or either block
    among the first `global` blocks."""
    blocks = torch.arange(s) // BLOCK
    qb, kb = blocks[:, None], blocks[None, :]
    return ((qb - kb).abs() < LOCAL) | (qb < GLOBAL) | (kb < GLOBAL)


def masks_reference(inputs, weights):
    """sdpa with: no mask; scale 0.1; causal (j <= i) for GQA 4/2 and MQA 4/1;
    key_mask (padding); causal + left-padding key_mask (row 0 of a left-padded
    sequence sees no key -> zeros); sliding window (i - w < j <= i); block
    sparse; causal with the clipped softmax."""
    x = {k: t64(v) for k, v in inputs.items() if not k.endswith("mask")}
    b, s = inputs["q"].shape[:2]
    i, j = torch.arange(s)[:, None], torch.arange(s)[None, :]
    causal = (j <= i)[None]
    full = torch.ones(1, s, s, dtype=torch.bool)
    keys = torch.from_numpy(inputs["key_mask"] != 0)[:, None, :]
    left = torch.from_numpy(inputs["left_mask"] != 0)[:, None, :]
    q = x["q"]
    return {
        "none_mha": sdpa(q, x["k4"], x["v4"], full),
        "none_scaled": sdpa(q, x["k"], x["v"], full, scale=0.1),
        "causal_gqa": sdpa(q, x["k"], x["v"], causal),
        "causal_mqa": sdpa(q, x["k1"], x["v1"], causal),
        "padding": sdpa(q, x["k"], x["v"], keys.expand(b, s, s)),
        "causal_left_pad": sdpa(q, x["k"], x["v"], causal & left),
        "sliding_window": sdpa(q, x["k"], x["v"], causal & (j > i - WINDOW)[None]),
        "block_sparse": sdpa(q, x["k4"], x["v4"], block_sparse_visible(s)[None]),
        "clipped_causal": sdpa(q, x["k"], x["v"], causal, clip=CLIP),
    }


# --- decode: a few query rows against many keys ----------------------------------------

# The fused kernel runs split-K (key chunks, merged afterwards) for at most 4
# query rows against at least 256 keys, its row form otherwise: shapes on
# both sides of both bounds.
DECODE_SHAPES = [dict(batch=1, q_seq=1, kv_seq=300), dict(batch=3, q_seq=1, kv_seq=513),
                 dict(batch=2, q_seq=4, kv_seq=256), dict(batch=1, q_seq=3, kv_seq=1000),
                 dict(batch=2, q_seq=5, kv_seq=300), dict(batch=1, q_seq=1, kv_seq=255),
                 dict(batch=1, q_seq=2, kv_seq=17)]
DECODE_OUTPUTS = {
    # name: (key, value, extra operands, kv heads, attributes)
    "none_mha": ("%k4", "%v4", "", 4, "mask <none>"),
    "causal_gqa": ("%k", "%v", "", 2, "mask <causal>"),
    "padding_mqa": ("%k1", "%v1", "key_mask %key_mask", 1, "mask <padding>"),
    "sliding_window": ("%k", "%v", "", 2, f"mask <sliding_window {WINDOW}>"),
}


def decode_build(rng):
    qdims, kdims = ["batch", "q_seq", "", ""], ["batch", "kv_seq", "", ""]
    q = ttype(BS + [H, D])
    kv = {n: ttype(BS + [n, D]) for n in (1, 2, 4)}
    m = ttype(BS, "i64")
    body = []
    for i, (name, (k, v, extra, kvh, attrs)) in enumerate(DECODE_OUTPUTS.items()):
        types = [q, kv[kvh], kv[kvh]] + ([m] if extra else [])
        body.append(f"  %o{i} = kiln.attention %q, {k}, {v} {extra} heads {H} "
                    f"kv_heads {kvh} {attrs} : ({', '.join(types)}) -> {q}")
    args = [arg("q", BS + [H, D], dims=qdims)]
    for n, suffix in ((4, "4"), (2, ""), (1, "1")):
        args += [arg("k" + suffix, BS + [n, D], dims=kdims),
                 arg("v" + suffix, BS + [n, D], dims=kdims)]
    args.append(arg("key_mask", BS, "i64", dims=["batch", "kv_seq"]))
    mlir = func(args, [result(n, BS + [H, D], dims=qdims) for n in DECODE_OUTPUTS],
                body, [(f"o{i}", q) for i in range(len(DECODE_OUTPUTS))])
    return mlir, {}


def decode_inputs(rng, shape, weights):
    b, sq, sk = shape["batch"], shape["q_seq"], shape["kv_seq"]
    out = {"q": normal(rng, (b, sq, H, D))}
    for n, suffix in ((4, "4"), (2, ""), (1, "1")):
        out["k" + suffix] = normal(rng, (b, sk, n, D))
        out["v" + suffix] = normal(rng, (b, sk, n, D))
    # Sequence 0 sees every key, the last one none (-> zeros), others a prefix.
    lengths = [sk, (2 * sk) // 3, 0][:b] if b > 1 else [sk - 1]
    out["key_mask"] = np.stack([np.arange(sk) < n for n in lengths]).astype(np.int64)
    return out


def decode_reference(inputs, weights):
    """sdpa with query i against keys j: no mask; causal j <= i (the mask
    aligned at the first key, as kiln.attention defines it without a cache);
    padding key_mask with MQA; sliding window i - w < j <= i."""
    x = {k: t64(v) for k, v in inputs.items() if k != "key_mask"}
    b, sq = inputs["q"].shape[:2]
    sk = inputs["k"].shape[1]
    i, j = torch.arange(sq)[:, None], torch.arange(sk)[None, :]
    causal = (j <= i)[None]
    keys = torch.from_numpy(inputs["key_mask"] != 0)[:, None, :]
    q = x["q"]
    return {
        "none_mha": sdpa(q, x["k4"], x["v4"], torch.ones(1, sq, sk, dtype=torch.bool)),
        "causal_gqa": sdpa(q, x["k"], x["v"], causal),
        "padding_mqa": sdpa(q, x["k1"], x["v1"], keys.expand(b, sq, sk)),
        "sliding_window": sdpa(q, x["k"], x["v"], causal & (j > i - WINDOW)[None]),
    }


# --- packed (varlen) layout ---------------------------------------------------------

VARLEN_SHAPES = [dict(lengths=[1]), dict(lengths=[7]), dict(lengths=[37, 1, 129]),
                 dict(lengths=[7, 0, 37]), dict(lengths=[129, 128])]


def varlen_build(rng):
    q, kv = ttype([None, H, D]), ttype([None, KVH, D])
    cu = ttype([None], "i32")
    tok = ["tokens", "", ""]
    body = [f"  %o0 = kiln.attention %q, %k, %v cu_seqlens %cu_seqlens heads {H} kv_heads {KVH} mask <causal>"
            f" : ({q}, {kv}, {kv}, {cu}) -> {q}",
            f"  %o1 = kiln.attention %q, %k, %v cu_seqlens %cu_seqlens heads {H} kv_heads {KVH}"
            f" : ({q}, {kv}, {kv}, {cu}) -> {q}"]
    args = [arg("q", [None, H, D], dims=tok), arg("k", [None, KVH, D], dims=tok),
            arg("v", [None, KVH, D], dims=tok),
            arg("cu_seqlens", [None], "i32", dims=["sequences_plus_1"])]
    mlir = func(args, [result("causal", [None, H, D], dims=tok),
                       result("none", [None, H, D], dims=tok)],
                body, [("o0", q), ("o1", q)])
    return mlir, {}


def varlen_inputs(rng, shape, weights):
    lengths = shape["lengths"]
    t = sum(lengths)
    return {"q": normal(rng, (t, H, D)), "k": normal(rng, (t, KVH, D)),
            "v": normal(rng, (t, KVH, D)),
            "cu_seqlens": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)}


def varlen_reference(inputs, weights):
    """Each sequence cu[b]:cu[b+1] attends within itself (FlashAttention's
    varlen semantics), causal and unmasked; empty sequences add no rows."""
    cu = inputs["cu_seqlens"]
    q, k, v = (t64(inputs[n]) for n in "qkv")
    out = {"causal": [], "none": []}
    for b in range(len(cu) - 1):
        lo, hi = int(cu[b]), int(cu[b + 1])
        n = hi - lo
        qs, ks, vs = q[None, lo:hi], k[None, lo:hi], v[None, lo:hi]
        causal = torch.ones(n, n, dtype=torch.bool).tril()[None]
        out["causal"].append(sdpa(qs, ks, vs, causal)[0])
        out["none"].append(sdpa(qs, ks, vs, torch.ones(1, n, n, dtype=torch.bool))[0])
    return {name: torch.cat(parts, 0) for name, parts in out.items()}


# --- KV cache -------------------------------------------------------------------------

CACHE_SHAPES = [dict(batch=1, seq=1, positions=[0]), dict(batch=1, seq=1, positions=[41]),
                dict(batch=3, seq=1, positions=[0, 9, 128]),
                dict(batch=3, seq=7, positions=[0, 3, 40]),
                dict(batch=1, seq=37, positions=[5]),
                dict(batch=3, seq=129, positions=[0, 1, 20]),
                # Decode against long caches (the split-K form).
                dict(batch=2, seq=1, positions=[700, 3]),
                dict(batch=1, seq=4, positions=[300])]
CACHE_WINDOW = 6


def cache_build(rng):
    q, kv = ttype(BS + [H, D]), ttype(BS + [KVH, D])
    cache = ttype([None, None, KVH, D])
    pos = ttype([None], "i64")
    cdims = ["batch", "capacity", "", ""]
    ops = [("o0", "mask <causal>"), ("o1", "mask <none>"),
           ("o2", f"mask <sliding_window {CACHE_WINDOW}>")]
    body = [f"  %{n}:3 = kiln.attention %q, %k, %v cache(%k_cache, %v_cache) positions %positions"
            f" heads {H} kv_heads {KVH} {attrs} : ({q}, {kv}, {kv}, {cache}, {cache}, {pos})"
            f" -> ({q}, {cache}, {cache})" for n, attrs in ops]
    args = [arg("q", BS + [H, D]), arg("k", BS + [KVH, D]), arg("v", BS + [KVH, D]),
            arg("k_cache", [None, None, KVH, D], dims=cdims),
            arg("v_cache", [None, None, KVH, D], dims=cdims),
            arg("positions", [None], "i64", dims=["batch"])]
    results = [result("causal", BS + [H, D]),
               result("k_cache_out", [None, None, KVH, D], dims=cdims),
               result("v_cache_out", [None, None, KVH, D], dims=cdims),
               result("none", BS + [H, D]), result("window", BS + [H, D])]
    mlir = func(args, results, body,
                [("o0#0", q), ("o0#1", cache), ("o0#2", cache), ("o1#0", q), ("o2#0", q)])
    return mlir, {}


def cache_inputs(rng, shape, weights):
    """Caches filled with random garbage: rows at or after positions[b] must
    be ignored (then overwritten by the new keys/values)."""
    b, s, pos = shape["batch"], shape["seq"], shape["positions"]
    cap = max(pos) + s + 3
    return {"q": normal(rng, (b, s, H, D)), "k": normal(rng, (b, s, KVH, D)),
            "v": normal(rng, (b, s, KVH, D)),
            "k_cache": normal(rng, (b, cap, KVH, D)),
            "v_cache": normal(rng, (b, cap, KVH, D)),
            "positions": np.array(pos, dtype=np.int64)}


def cache_reference(inputs, weights):
    """HF DynamicCache semantics on a static buffer: new rows written at
    positions[b] + i; query i at absolute position p + i sees cached and new
    keys j < p + S, and with the causal mask j <= p + i, with the sliding
    window also j > p + i - w."""
    q, k, v = (t64(inputs[n]) for n in "qkv")
    kc, vc = t64(inputs["k_cache"]).clone(), t64(inputs["v_cache"]).clone()
    pos = inputs["positions"]
    b, s = q.shape[:2]
    cap = kc.shape[1]
    for i, p in enumerate(pos):
        kc[i, p:p + s] = k[i]
        vc[i, p:p + s] = v[i]
    qpos = torch.from_numpy(pos)[:, None, None] + torch.arange(s)[None, :, None]
    j = torch.arange(cap)[None, None, :]
    written = j < torch.from_numpy(pos)[:, None, None] + s
    causal = j <= qpos
    return {"causal": sdpa(q, kc, vc, written & causal),
            "none": sdpa(q, kc, vc, written.expand(b, s, cap)),
            "window": sdpa(q, kc, vc, written & causal & (j > qpos - CACHE_WINDOW)),
            "k_cache_out": kc, "v_cache_out": vc}


CASES = {
    "attention_masks": Case("attention_masks", masks_build, masks_inputs,
                            masks_reference, shapes=SHAPES),
    "attention_decode": Case("attention_decode", decode_build, decode_inputs,
                             decode_reference, shapes=DECODE_SHAPES),
    "attention_varlen": Case("attention_varlen", varlen_build, varlen_inputs,
                             varlen_reference, shapes=VARLEN_SHAPES),
    "attention_kv_cache": Case("attention_kv_cache", cache_build, cache_inputs,
                               cache_reference, shapes=CACHE_SHAPES,
                               exact=("k_cache_out", "v_cache_out")),
}
