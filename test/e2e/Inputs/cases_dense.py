"""Token-wise op families: embedding, linear, ffn, norms, rope, activations,
add/mul, split/merge heads. Each family is one model with several outputs,
compiled once and run on every shape of common.SHAPES."""

import numpy as np
import torch

from common import (ACTIVATIONS, SHAPES, Case, Tolerance, arg, func,
                    gelu_erf, gelu_tanh, layer_norm, normal, param, result,
                    rms_norm, rope, t64, ttype, weight)

BS = [None, None]          # the dynamic [batch, seq] prefix


def xs(rng, shape, width, scale=1.0, name="x"):
    """A [batch, seq, width] float32 input."""
    return {name: normal(rng, (shape["batch"], shape["seq"], width), scale)}


# --- embedding ----------------------------------------------------------------

VOCAB, EMB = 50, 24


def embedding_build(rng):
    table = ttype([VOCAB, EMB])
    out = ttype(BS + [EMB])
    body = [param("t", "embed.weight", [VOCAB, EMB]),
            f"  %e64 = kiln.embedding %t[%ids] : {table}, {ttype(BS, 'i64')} -> {out}",
            f"  %e32 = kiln.embedding %t[%ids32] : {table}, {ttype(BS, 'i32')} -> {out}"]
    mlir = func([arg("ids", BS, "i64"), arg("ids32", BS, "i32")],
                [result("e64", BS + [EMB]), result("e32", BS + [EMB])],
                body, [("e64", out), ("e32", out)])
    return mlir, {"embed.weight": normal(rng, (VOCAB, EMB))}


def embedding_inputs(rng, shape, weights):
    """Random ids with the first and last token pinned to 0 and vocab - 1,
    the edges of the table."""
    ids = rng.integers(0, VOCAB, (shape["batch"], shape["seq"]), dtype=np.int64)
    ids[:, 0] = VOCAB - 1
    ids[:, -1] = 0 if shape["seq"] > 1 else VOCAB - 1
    ids[-1, :] = VOCAB - 1
    return {"ids": ids, "ids32": ids[:, ::-1].astype(np.int32).copy()}


def embedding_reference(inputs, weights):
    """torch.nn.functional.embedding(ids, table)."""
    table = t64(weights["embed.weight"])
    return {name: torch.nn.functional.embedding(
                torch.from_numpy(inputs[src].astype(np.int64)), table)
            for name, src in (("e64", "ids"), ("e32", "ids32"))}


# --- linear -------------------------------------------------------------------

K, N = 50, 70


def linear_build(rng):
    x, y = ttype(BS + [K]), ttype(BS + [N])
    w_oi, w_io, b = ttype([N, K]), ttype([K, N]), ttype([N])
    body = [param("woi", "lin.out_in.weight", [N, K]),
            param("boi", "lin.out_in.bias", [N]),
            param("wio", "lin.in_out.weight", [K, N]),
            param("bio", "lin.in_out.bias", [N]),
            f"  %y0 = kiln.linear %x, %woi bias %boi : ({x}, {w_oi}, {b}) -> {y}",
            f"  %y1 = kiln.linear %x, %wio layout <in_out> : ({x}, {w_io}) -> {y}",
            f"  %y2 = kiln.linear %x, %wio bias %bio layout <in_out> : ({x}, {w_io}, {b}) -> {y}",
            f"  %y3 = kiln.linear %x, %woi : ({x}, {w_oi}) -> {y}"]
    names = ["out_in_bias", "in_out", "in_out_bias", "out_in"]
    mlir = func([arg("x", BS + [K])], [result(n, BS + [N]) for n in names],
                body, [(f"y{i}", y) for i in range(4)])
    weights = {"lin.out_in.weight": weight(rng, (N, K)),
               "lin.out_in.bias": normal(rng, (N,)),
               "lin.in_out.weight": weight(rng, (K, N)),
               "lin.in_out.bias": normal(rng, (N,))}
    return mlir, weights


def linear_reference(inputs, weights):
    """torch.nn.functional.linear(x, W, b); in_out weights are [in, out],
    so W = stored.T (GPT-2 Conv1D: x @ W + b)."""
    w = {k: t64(v) for k, v in weights.items()}
    x = t64(inputs["x"])
    lin = torch.nn.functional.linear
    return {"out_in_bias": lin(x, w["lin.out_in.weight"], w["lin.out_in.bias"]),
            "in_out": x @ w["lin.in_out.weight"],
            "in_out_bias": x @ w["lin.in_out.weight"] + w["lin.in_out.bias"],
            "out_in": lin(x, w["lin.out_in.weight"])}


# --- ffn ----------------------------------------------------------------------

HID, INTER = 40, 72


def ffn_build(rng):
    x = ttype(BS + [HID])
    up, down = ttype([INTER, HID]), ttype([HID, INTER])
    up_io, down_io = ttype([HID, INTER]), ttype([INTER, HID])
    bi, bh = ttype([INTER]), ttype([HID])
    p = "mlp."
    body = [param("wu", p + "plain.up", [INTER, HID]),
            param("bu", p + "plain.up_bias", [INTER]),
            param("wd", p + "plain.down", [HID, INTER]),
            param("bd", p + "plain.down_bias", [HID]),
            param("su", p + "swiglu.up", [INTER, HID]),
            param("sg", p + "swiglu.gate", [INTER, HID]),
            param("sd", p + "swiglu.down", [HID, INTER]),
            param("tu", p + "tanh.up", [HID, INTER]),
            param("tbu", p + "tanh.up_bias", [INTER]),
            param("td", p + "tanh.down", [INTER, HID]),
            param("tbd", p + "tanh.down_bias", [HID]),
            param("gbg", p + "geglu.gate_bias", [INTER]),
            f"  %y0 = kiln.ffn %x up %wu down %wd up_bias %bu down_bias %bd activation <gelu>"
            f" : ({x}, {up}, {down}, {bi}, {bh}) -> {x}",
            f"  %y1 = kiln.ffn %x up %su gate %sg down %sd activation <silu>"
            f" : ({x}, {up}, {up}, {down}) -> {x}",
            f"  %y2 = kiln.ffn %x up %tu down %td up_bias %tbu down_bias %tbd activation <gelu_tanh> layout <in_out>"
            f" : ({x}, {up_io}, {down_io}, {bi}, {bh}) -> {x}",
            f"  %y3 = kiln.ffn %x up %su gate %sg down %sd up_bias %bu gate_bias %gbg down_bias %bd activation <gelu>"
            f" : ({x}, {up}, {up}, {down}, {bi}, {bi}, {bh}) -> {x}"]
    names = ["gelu_bias", "swiglu", "gelu_tanh_in_out", "geglu_bias"]
    mlir = func([arg("x", BS + [HID])], [result(n, BS + [HID]) for n in names],
                body, [(f"y{i}", x) for i in range(4)])
    weights = {}
    for name, shape in [("plain.up", (INTER, HID)), ("plain.down", (HID, INTER)),
                        ("swiglu.up", (INTER, HID)), ("swiglu.gate", (INTER, HID)),
                        ("swiglu.down", (HID, INTER)), ("tanh.up", (HID, INTER)),
                        ("tanh.down", (INTER, HID))]:
        weights[p + name] = weight(rng, shape)
    for name, size in [("plain.up_bias", INTER), ("plain.down_bias", HID),
                       ("tanh.up_bias", INTER), ("tanh.down_bias", HID),
                       ("geglu.gate_bias", INTER)]:
        weights[p + name] = normal(rng, (size,), 0.5)
    return mlir, weights


def ffn_reference(inputs, weights):
    """HF formulas: BERT (down(gelu(up x + bu)) + bd), LLaMA SwiGLU
    (down(silu(gate x) * up x)), GPT-2 MLP with Conv1D weights
    (gelu_new(x @ U + bu) @ D + bd) and GeGLU with biases."""
    w = {k[4:]: t64(v) for k, v in weights.items()}
    x = t64(inputs["x"])
    lin = torch.nn.functional.linear
    return {
        "gelu_bias": lin(gelu_erf(lin(x, w["plain.up"], w["plain.up_bias"])),
                         w["plain.down"], w["plain.down_bias"]),
        "swiglu": lin(torch.nn.functional.silu(lin(x, w["swiglu.gate"]))
                      * lin(x, w["swiglu.up"]), w["swiglu.down"]),
        "gelu_tanh_in_out": gelu_tanh(x @ w["tanh.up"] + w["tanh.up_bias"])
        @ w["tanh.down"] + w["tanh.down_bias"],
        "geglu_bias": lin(gelu_erf(lin(x, w["swiglu.gate"], w["geglu.gate_bias"]))
                          * lin(x, w["swiglu.up"], w["plain.up_bias"]),
                          w["swiglu.down"], w["plain.down_bias"]),
    }


# --- layer_norm / rms_norm ---------------------------------------------------

NORM = 48


def norm_build(rng):
    x, v = ttype(BS + [NORM]), ttype([NORM])
    body = [param("g", "norm.weight", [NORM]), param("b", "norm.bias", [NORM]),
            f"  %y0 = kiln.layer_norm %x weight %g bias %b epsilon 1.0e-05 : ({x}, {v}, {v}) -> {x}",
            f"  %y1 = kiln.layer_norm %x epsilon 1.0e-12 : ({x}) -> {x}",
            f"  %y2 = kiln.layer_norm %x weight %g epsilon 1.0e-06 : ({x}, {v}) -> {x}",
            f"  %y3 = kiln.rms_norm %x weight %g epsilon 1.0e-06 : ({x}, {v}) -> {x}",
            f"  %y4 = kiln.rms_norm %x weight %g epsilon 1.0e-02 : ({x}, {v}) -> {x}"]
    names = ["ln_affine", "ln_plain", "ln_weight", "rms", "rms_big_eps"]
    mlir = func([arg("x", BS + [NORM])], [result(n, BS + [NORM]) for n in names],
                body, [(f"y{i}", x) for i in range(5)])
    return mlir, {"norm.weight": normal(rng, (NORM,), 1.0) + 1.0,
                  "norm.bias": normal(rng, (NORM,), 0.5)}


def norm_inputs(rng, shape, weights):
    """Rows with a mean of 3 and a spread of 2: a naive E[x^2] - E[x]^2
    would lose digits."""
    x = normal(rng, (shape["batch"], shape["seq"], NORM), 2.0) + 3.0
    return {"x": x}


def norm_reference(inputs, weights):
    """torch.nn.functional.layer_norm (biased variance) and LLaMA RMSNorm."""
    x, g, b = t64(inputs["x"]), t64(weights["norm.weight"]), t64(weights["norm.bias"])
    return {"ln_affine": layer_norm(x, g, b, 1e-5),
            "ln_plain": layer_norm(x, None, None, 1e-12),
            "ln_weight": layer_norm(x, g, None, 1e-6),
            "rms": rms_norm(x, g, 1e-6),
            "rms_big_eps": rms_norm(x, g, 1e-2)}


# --- rope ---------------------------------------------------------------------

RH, RD = 3, 16
MAX_POS = 2048


def rope_build(rng):
    x, pos = ttype(BS + [RH, RD]), ttype(BS, "i64")
    xp = ttype([None, RH, RD])
    body = [f"  %y0 = kiln.rope %x positions %pos theta 1.0e+04 : ({x}, {pos}) -> {x}",
            f"  %y1 = kiln.rope %x positions %pos theta 1.0e+04 style <interleaved> : ({x}, {pos}) -> {x}",
            f"  %y2 = kiln.rope %x positions %pos theta 5.0e+05 rotary_dim 8 : ({x}, {pos}) -> {x}",
            f"  %y3 = kiln.rope %x positions %pos theta 1.0e+04 rotary_dim 6 style <interleaved> : ({x}, {pos}) -> {x}",
            f"  %y4 = kiln.rope %xp positions %pp theta 1.0e+04 : ({xp}, {ttype([None], 'i32')}) -> {xp}"]
    names = ["half", "interleaved", "partial_half", "partial_interleaved"]
    results = [result(n, BS + [RH, RD]) for n in names]
    results.append(result("packed", [None, RH, RD], dims=["tokens", "", ""]))
    args = [arg("x", BS + [RH, RD]), arg("pos", BS, "i64"),
            arg("xp", [None, RH, RD], dims=["tokens", "", ""]),
            arg("pp", [None], "i32", dims=["tokens"])]
    mlir = func(args, results, body, [(f"y{i}", x) for i in range(4)] + [("y4", xp)])
    return mlir, {}


def rope_inputs(rng, shape, weights):
    """Random positions below MAX_POS (fp32 angles lose ~pos * 6e-8 rad), and
    a packed copy of the same tokens."""
    b, s = shape["batch"], shape["seq"]
    x = normal(rng, (b, s, RH, RD))
    pos = rng.integers(0, MAX_POS, (b, s), dtype=np.int64)
    pos[0, :] = np.arange(s)
    return {"x": x, "pos": pos, "xp": x.reshape(b * s, RH, RD).copy(),
            "pp": pos.reshape(-1).astype(np.int32)}


def rope_reference(inputs, weights):
    """HF rotate_half (GPT-NeoX/LLaMA) and rotate_every_two (GPT-J) RoPE with
    inv_freq = theta^(-2i/rotary_dim), in float64."""
    x, pos = t64(inputs["x"]), torch.from_numpy(inputs["pos"])
    xp, pp = t64(inputs["xp"]), torch.from_numpy(inputs["pp"])
    return {"half": rope(x, pos, 1e4),
            "interleaved": rope(x, pos, 1e4, style="interleaved"),
            "partial_half": rope(x, pos, 5e5, rotary_dim=8),
            "partial_interleaved": rope(x, pos, 1e4, rotary_dim=6,
                                        style="interleaved"),
            "packed": rope(xp, pp, 1e4)}


# --- activations, add / mul ----------------------------------------------------

ACT_W = 33


def activation_build(rng):
    x = ttype(BS + [ACT_W])
    body = [f"  %{k} = kiln.activation <{k}> %x : {x}" for k in ACTIVATIONS]
    mlir = func([arg("x", BS + [ACT_W])],
                [result(k, BS + [ACT_W]) for k in ACTIVATIONS], body,
                [(k, x) for k in ACTIVATIONS])
    return mlir, {}


def activation_reference(inputs, weights):
    """torch gelu (erf), GPT-2 gelu_new (tanh), silu, relu, identity."""
    x = t64(inputs["x"])
    return {k: f(x) for k, f in ACTIVATIONS.items()}


def elementwise_build(rng):
    x = ttype(BS + [ACT_W])
    body = [f"  %s = kiln.add %a, %b : {x}", f"  %p = kiln.mul %a, %b : {x}",
            f"  %r = kiln.add %s, %a : {x}"]
    mlir = func([arg("a", BS + [ACT_W]), arg("b", BS + [ACT_W])],
                [result("sum", BS + [ACT_W]), result("prod", BS + [ACT_W]),
                 result("sum2", BS + [ACT_W])],
                body, [("s", x), ("p", x), ("r", x)])
    return mlir, {}


def elementwise_reference(inputs, weights):
    """a + b, a * b and (a + b) + a."""
    a, b = t64(inputs["a"]), t64(inputs["b"])
    return {"sum": a + b, "prod": a * b, "sum2": (a + b) + a}


# --- split / merge heads -------------------------------------------------------

HEADS, HD = 3, 16


def heads_build(rng):
    flat, split = ttype(BS + [HEADS * HD]), ttype(BS + [HEADS, HD])
    body = [f"  %s = kiln.split_heads %x heads {HEADS} : {flat} -> {split}",
            f"  %m = kiln.merge_heads %y : {split} -> {flat}",
            f"  %rt0 = kiln.split_heads %x heads {HEADS} : {flat} -> {split}",
            f"  %rt = kiln.merge_heads %rt0 : {split} -> {flat}"]
    mlir = func([arg("x", BS + [HEADS * HD]), arg("y", BS + [HEADS, HD])],
                [result("split", BS + [HEADS, HD]), result("merged", BS + [HEADS * HD]),
                 result("roundtrip", BS + [HEADS * HD])],
                body, [("s", split), ("m", flat), ("rt", flat)])
    return mlir, {}


def heads_reference(inputs, weights):
    """x.view(B, S, H, D) and y.reshape(B, S, H * D) (HF's transpose-free
    views)."""
    x, y = inputs["x"], inputs["y"]
    b, s = x.shape[:2]
    return {"split": x.reshape(b, s, HEADS, HD), "merged": y.reshape(b, s, -1),
            "roundtrip": x}


def _x_inputs(width, scale=1.0, names=("x",)):
    def inputs(rng, shape, weights):
        out = {}
        for n in names:
            out.update(xs(rng, shape, width, scale, n))
        return out
    return inputs


def heads_inputs(rng, shape, weights):
    b, s = shape["batch"], shape["seq"]
    return {"x": normal(rng, (b, s, HEADS * HD)), "y": normal(rng, (b, s, HEADS, HD))}


CASES = {
    "embedding": Case("embedding", embedding_build, embedding_inputs,
                      embedding_reference, exact=("e64", "e32")),
    "linear": Case("linear", linear_build, _x_inputs(K), linear_reference),
    "ffn": Case("ffn", ffn_build, _x_inputs(HID), ffn_reference),
    "norm": Case("norm", norm_build, norm_inputs, norm_reference),
    "rope": Case("rope", rope_build, rope_inputs, rope_reference),
    "activation": Case("activation", activation_build, _x_inputs(ACT_W, 4.0),
                       activation_reference),
    "elementwise": Case("elementwise", elementwise_build,
                        _x_inputs(ACT_W, 1.0, ("a", "b")), elementwise_reference),
    "heads": Case("heads", heads_build, heads_inputs, heads_reference,
                  exact=("split", "merged", "roundtrip")),
}
