"""State-space and variable-length ops: kiln.selective_scan (Mamba),
kiln.causal_conv1d, kiln.pack / kiln.unpack."""

import numpy as np
import torch

from common import (FEW_SHAPES, SHAPES, Case, arg, func, normal, param,
                    result, t64, ttype)
from cases_attention import lengths_for

CH, N, K = 24, 8, 4
BS = [None, None]


# --- selective scan ---------------------------------------------------------------

def scan_build(rng):
    x, bc, a, c = ttype(BS + [CH]), ttype(BS + [N]), ttype([CH, N]), ttype([CH])
    st = ttype([None, CH, N])
    body = [param("A", "mixer.A", [CH, N]), param("D", "mixer.D", [CH]),
            param("db", "mixer.dt_bias", [CH]),
            f"  %s:2 = kiln.selective_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db"
            f" initial_state %h0 dt_softplus : ({x}, {x}, {a}, {bc}, {bc}, {c}, {x}, {c}, {st})"
            f" -> ({x}, {st})",
            f"  %p = kiln.selective_scan %x, %delta, %A, %B, %C : ({x}, {x}, {a}, {bc}, {bc}) -> {x}",
            f"  %f:2 = kiln.selective_scan %x, %dt, %A, %B, %C D %D dt_softplus"
            f" : ({x}, {x}, {a}, {bc}, {bc}, {c}) -> ({x}, {st})"]
    args = [arg("x", BS + [CH]), arg("dt", BS + [CH]), arg("B", BS + [N]),
            arg("C", BS + [N]), arg("z", BS + [CH]), arg("delta", BS + [CH]),
            arg("h0", [None, CH, N])]
    results = [result("y", BS + [CH]), result("final_state", [None, CH, N]),
               result("y_plain", BS + [CH]), result("y_zero_init", BS + [CH]),
               result("final_zero_init", [None, CH, N])]
    mlir = func(args, results, body, [("s#0", x), ("s#1", st), ("p", x),
                                      ("f#0", x), ("f#1", st)])
    weights = {"mixer.A": -np.exp(normal(rng, (CH, N), 0.5)),   # A = -exp(A_log)
               "mixer.D": normal(rng, (CH,)),
               "mixer.dt_bias": normal(rng, (CH,), 0.5) - 1.0}
    return mlir, weights


def scan_inputs(rng, shape, weights):
    b, s = shape["batch"], shape["seq"]
    return {"x": normal(rng, (b, s, CH)), "dt": normal(rng, (b, s, CH)),
            "B": normal(rng, (b, s, N)), "C": normal(rng, (b, s, N)),
            "z": normal(rng, (b, s, CH)),
            "delta": np.abs(normal(rng, (b, s, CH), 0.3)).astype(np.float32),
            "h0": normal(rng, (b, CH, N))}


def selective_scan(x, delta, a, bm, cm, d=None, z=None, h0=None):
    """Mamba's selective_scan_ref recurrence, sequentially in float64:
    h = exp(delta A) h + delta B x; y = C.h + D x; y *= silu(z).
    x, delta, z: [B, L, CH]; bm, cm: [B, L, N]. Returns (y, final h)."""
    batch, length, _ = x.shape
    h = torch.zeros(batch, CH, N, dtype=torch.float64) if h0 is None else h0.clone()
    ys = []
    for t in range(length):
        dt = delta[:, t, :, None]
        h = torch.exp(dt * a) * h + dt * bm[:, t, None, :] * x[:, t, :, None]
        ys.append((h * cm[:, t, None, :]).sum(-1))
    y = torch.stack(ys, 1) if ys else torch.zeros_like(x)
    if d is not None:
        y = y + d * x
    if z is not None:
        y = y * torch.nn.functional.silu(z)
    return y, h


def scan_reference(inputs, weights):
    """selective_scan with delta = softplus(dt + dt_bias), D, z gating and an
    initial state; the plain form with delta given; and zero initial state."""
    x = {k: t64(v) for k, v in inputs.items()}
    a, d, db = (t64(weights["mixer." + n]) for n in ("A", "D", "dt_bias"))
    soft = torch.nn.functional.softplus
    y, h = selective_scan(x["x"], soft(x["dt"] + db), a, x["B"], x["C"], d, x["z"], x["h0"])
    yp, _ = selective_scan(x["x"], x["delta"], a, x["B"], x["C"])
    y0, h0 = selective_scan(x["x"], soft(x["dt"]), a, x["B"], x["C"], d)
    return {"y": y, "final_state": h, "y_plain": yp, "y_zero_init": y0,
            "final_zero_init": h0}


# --- causal conv1d ------------------------------------------------------------------

def conv_build(rng):
    x, w, c, st = ttype(BS + [CH]), ttype([CH, K]), ttype([CH]), ttype([None, CH, K - 1])
    body = [param("w", "mixer.conv1d.weight", [CH, K]),
            param("b", "mixer.conv1d.bias", [CH]),
            f"  %y0 = kiln.causal_conv1d %x, %w bias %b activation <silu> : ({x}, {w}, {c}) -> {x}",
            f"  %y1:2 = kiln.causal_conv1d %x, %w bias %b initial_state %state activation <silu>"
            f" : ({x}, {w}, {c}, {st}) -> ({x}, {st})",
            f"  %y2 = kiln.causal_conv1d %x, %w : ({x}, {w}) -> {x}"]
    args = [arg("x", BS + [CH]), arg("state", [None, CH, K - 1])]
    results = [result("silu_bias", BS + [CH]), result("with_state", BS + [CH]),
               result("final_state", [None, CH, K - 1]), result("plain", BS + [CH])]
    mlir = func(args, results, body, [("y0", x), ("y1#0", x), ("y1#1", st), ("y2", x)])
    return mlir, {"mixer.conv1d.weight": normal(rng, (CH, K), 0.5),
                  "mixer.conv1d.bias": normal(rng, (CH,), 0.5)}


def conv_inputs(rng, shape, weights):
    b, s = shape["batch"], shape["seq"]
    return {"x": normal(rng, (b, s, CH)), "state": normal(rng, (b, CH, K - 1))}


def causal_conv(x, w, bias, state=None, act=None):
    """HF Mamba's slow path: depthwise torch conv1d (groups = channels) over
    [state or zeros, x]; returns (y [B, L, CH], last K-1 inputs [B, CH, K-1])."""
    xt = x.transpose(1, 2)
    prefix = torch.zeros(x.shape[0], CH, K - 1, dtype=torch.float64) if state is None else state
    full = torch.cat([prefix, xt], -1)
    y = torch.nn.functional.conv1d(full, w[:, None, :], bias, groups=CH)
    if act is not None:
        y = act(y)
    return y.transpose(1, 2), full[:, :, -(K - 1):]


def conv_reference(inputs, weights):
    """causal_conv with bias + silu, with an initial state (and its final
    state), and plain."""
    x, s = t64(inputs["x"]), t64(inputs["state"])
    w, b = t64(weights["mixer.conv1d.weight"]), t64(weights["mixer.conv1d.bias"])
    silu = torch.nn.functional.silu
    y1, fs = causal_conv(x, w, b, s, silu)
    return {"silu_bias": causal_conv(x, w, b, None, silu)[0], "with_state": y1,
            "final_state": fs, "plain": causal_conv(x, w, None)[0]}


# --- packed (varlen) scan and conv -------------------------------------------------------

PACKED_SHAPES = [dict(lengths=[1]), dict(lengths=[37]), dict(lengths=[7, 0, 129]),
                 dict(lengths=[5, 1, 37])]


def packed_build(rng):
    x, bc, a, c = ttype([None, CH]), ttype([None, N]), ttype([CH, N]), ttype([CH])
    w, cu = ttype([CH, K]), ttype([None], "i32")
    tok = ["tokens", ""]
    body = [param("A", "mixer.A", [CH, N]), param("D", "mixer.D", [CH]),
            param("db", "mixer.dt_bias", [CH]), param("w", "mixer.conv1d.weight", [CH, K]),
            param("b", "mixer.conv1d.bias", [CH]),
            f"  %xc = kiln.causal_conv1d %x, %w bias %b cu_seqlens %cu_seqlens activation <silu>"
            f" : ({x}, {w}, {c}, {cu}) -> {x}",
            f"  %y = kiln.selective_scan %xc, %dt, %A, %B, %C D %D z %z dt_bias %db cu_seqlens %cu_seqlens"
            f" dt_softplus : ({x}, {x}, {a}, {bc}, {bc}, {c}, {x}, {c}, {cu}) -> {x}"]
    args = [arg("x", [None, CH], dims=tok), arg("dt", [None, CH], dims=tok),
            arg("B", [None, N], dims=tok), arg("C", [None, N], dims=tok),
            arg("z", [None, CH], dims=tok), arg("cu_seqlens", [None], "i32", dims=["nseq1"])]
    results = [result("conv", [None, CH], dims=tok), result("y", [None, CH], dims=tok)]
    mlir = func(args, results, body, [("xc", x), ("y", x)])
    weights = {"mixer.A": -np.exp(normal(rng, (CH, N), 0.5)), "mixer.D": normal(rng, (CH,)),
               "mixer.dt_bias": normal(rng, (CH,), 0.5) - 1.0,
               "mixer.conv1d.weight": normal(rng, (CH, K), 0.5),
               "mixer.conv1d.bias": normal(rng, (CH,), 0.5)}
    return mlir, weights


def packed_inputs(rng, shape, weights):
    t = sum(shape["lengths"])
    return {"x": normal(rng, (t, CH)), "dt": normal(rng, (t, CH)),
            "B": normal(rng, (t, N)), "C": normal(rng, (t, N)), "z": normal(rng, (t, CH)),
            "cu_seqlens": np.concatenate([[0], np.cumsum(shape["lengths"])]).astype(np.int32)}


def packed_reference(inputs, weights):
    """Mamba mixer core on each sequence cu[b]:cu[b+1] separately, from zero
    conv and SSM state: silu(conv1d(x) + bias), then the selective scan."""
    x = {k: t64(v) for k, v in inputs.items() if k != "cu_seqlens"}
    wt = {k: t64(v) for k, v in weights.items()}
    cu = inputs["cu_seqlens"]
    convs, ys = [], []
    for b in range(len(cu) - 1):
        sl = slice(int(cu[b]), int(cu[b + 1]))
        if sl.start == sl.stop:         # an empty sequence adds no rows
            continue
        xc, _ = causal_conv(x["x"][None, sl], wt["mixer.conv1d.weight"],
                            wt["mixer.conv1d.bias"], None, torch.nn.functional.silu)
        delta = torch.nn.functional.softplus(x["dt"][None, sl] + wt["mixer.dt_bias"])
        y, _ = selective_scan(xc, delta, wt["mixer.A"], x["B"][None, sl], x["C"][None, sl],
                              wt["mixer.D"], x["z"][None, sl])
        convs.append(xc[0])
        ys.append(y[0])
    return {"conv": torch.cat(convs), "y": torch.cat(ys)}


# --- pack / unpack --------------------------------------------------------------------------

PW = 12


def pack_build(rng):
    x, ids, ln = ttype(BS + [PW]), ttype(BS, "i64"), ttype([None], "i32")
    p, pi, cu = ttype([None, PW]), ttype([None], "i64"), ttype([None], "i32")
    body = ["  %c1 = arith.constant 1 : index",
            f"  %s = tensor.dim %x, %c1 : {x}",
            f"  %pr, %cur = kiln.pack %x lengths %lengths : ({x}, {ln}) -> ({p}, {cu})",
            f"  %pl, %cul = kiln.pack %x lengths %lengths side <left> : ({x}, {ln}) -> ({p}, {cu})",
            f"  %pi, %cui = kiln.pack %ids lengths %lengths side <left> : ({ids}, {ln}) -> ({pi}, {cu})",
            f"  %rr = kiln.unpack %pr cu_seqlens %cur seq_len %s : ({p}, {cu}, index) -> {x}",
            f"  %rl = kiln.unpack %pr cu_seqlens %cur seq_len %s side <left> : ({p}, {cu}, index) -> {x}",
            f"  %lr = kiln.unpack %pl cu_seqlens %cul seq_len %s : ({p}, {cu}, index) -> {x}",
            f"  %ll = kiln.unpack %pl cu_seqlens %cul seq_len %s side <left> : ({p}, {cu}, index) -> {x}",
            f"  %ii = kiln.unpack %pi cu_seqlens %cui seq_len %s : ({pi}, {cu}, index) -> {ids}"]
    args = [arg("x", BS + [PW]), arg("ids", BS, "i64"), arg("lengths", [None], "i32", dims=["batch"])]
    names = ["right_right", "right_left", "left_right", "left_left"]
    results = [result(n, BS + [PW]) for n in names] + [result("ids_left_right", BS, "i64")]
    mlir = func(args, results, body, [("rr", x), ("rl", x), ("lr", x), ("ll", x), ("ii", ids)])
    return mlir, {}


def pack_inputs(rng, shape, weights):
    b, s = shape["batch"], shape["seq"]
    return {"x": normal(rng, (b, s, PW)),
            "ids": rng.integers(1, 1000, (b, s), dtype=np.int64),
            "lengths": np.array(lengths_for(b, s), dtype=np.int32)}


def repad(x, lengths, src, dst):
    """Moves the `lengths[b]` real rows of x[b] (at the start for src=right,
    at the end for src=left) to the `dst` side of a zero tensor."""
    out = np.zeros_like(x)
    s = x.shape[1]
    for b, n in enumerate(lengths):
        rows = x[b, :n] if src == "right" else x[b, s - n:]
        if dst == "right":
            out[b, :n] = rows
        else:
            out[b, s - n:] = rows
    return out


def pack_reference(inputs, weights):
    """unpack(pack(x, side a), side b) moves each sequence's real tokens from
    side a to side b and zeroes the rest (torch's pad_sequence layout)."""
    x, ids, lengths = inputs["x"], inputs["ids"], inputs["lengths"]
    out = {f"{a}_{b}": repad(x, lengths, a, b)
           for a in ("right", "left") for b in ("right", "left")}
    out["ids_left_right"] = repad(ids, lengths, "left", "right")
    return out


CASES = {
    "selective_scan": Case("selective_scan", scan_build, scan_inputs, scan_reference,
                           shapes=SHAPES),
    "causal_conv1d": Case("causal_conv1d", conv_build, conv_inputs, conv_reference),
    "mamba_packed": Case("mamba_packed", packed_build, packed_inputs, packed_reference,
                         shapes=PACKED_SHAPES),
    "pack": Case("pack", pack_build, pack_inputs, pack_reference,
                 exact=("right_right", "right_left", "left_right", "left_left",
                        "ids_left_right")),
}
