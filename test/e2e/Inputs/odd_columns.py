"""Weight matmuls whose N is a multiple of no register-tile width: the
weight is stored as zero-padded panels and the last, partial panel is
stored masked. Compares kiln.linear with numpy (float64):

    odd_columns.py --workdir DIR

  N = 37 (out_in + bias; 1x8 tiles, 4 whole panels + 5 columns),
  N = 203 (in_out; 4x24 tiles, 8 whole panels + 11 columns),
  N = 73 (out_in + bias; N % 16 = 9; 4x16 tiles, 4 whole panels + 9),
  N = 9 (out_in; 1x8, one whole panel + 1 column), K = 64,
for fp32 and --quantize int8, int8:asym, int4:g32 and int4:g32:asym
(--no-fuse-qkv: each projection keeps its own N), at
batch x seq 1x1 (one decode row) and 2x37 (74 rows: three row blocks of
32, the last with a partial 4-row group). Every weight must be stored in
panels, padded to whole panels (the padding zero, checked for the quantized
parts by kiln.quantize.check_weights). A checkpoint whose weight has 39
rows where the model reads 37 (the same 5 panels of 8) is rejected, alone
and stacked by kiln-fuse-qkv (the manifest records `columns`).
Tolerance: fp32 max|kiln - ref| <= 1e-5 * max|ref| + 1e-6 against the fp32
weights; quantized 2e-5 * max|ref| + 1e-6 against the numpy-dequantized
weights (python/kiln/quantize.py).
"""

import argparse
import json
import os
import sys

import numpy as np

from kiln import quantize, testing

K = 64
# name -> (N, layout, bias, register tile width)
LINEARS = {"a": (37, "out_in", True, 8), "b": (203, "in_out", False, 24),
           "c": (73, "out_in", True, 16), "d": (9, "out_in", False, 8)}
SCHEMES = [None, "int8", "int8:asym", "int4:g32", "int4:g32:asym"]


def build_mlir():
    x = f"tensor<?x?x{K}xf32>"
    args, body, results = [], [], []
    for name, (n, layout, bias, _) in LINEARS.items():
        w = f"tensor<{n}x{K}xf32>" if layout == "out_in" else f"tensor<{K}x{n}xf32>"
        y = f"tensor<?x?x{n}xf32>"
        body.append(f'  %w{name} = kiln.param "{name}.weight" : {w}')
        operands, types = f"%x, %w{name}", f"{x}, {w}"
        if bias:
            body.append(f'  %b{name} = kiln.param "{name}.bias" : tensor<{n}xf32>')
            operands += f" bias %b{name}"
            types += f", tensor<{n}xf32>"
        suffix = " layout <in_out>" if layout == "in_out" else ""
        body.append(f"  %y{name} = kiln.linear {operands}{suffix} : ({types}) -> {y}")
        args.append(f'{y} {{kiln.name = "{name}"}}')
        results.append((f"%y{name}", y))
    return (f'func.func @forward(%x: {x} {{kiln.name = "x"}}) -> ({", ".join(args)}) {{\n'
            + "\n".join(body) + "\n  return " + ", ".join(r for r, _ in results)
            + " : " + ", ".join(t for _, t in results) + "\n}\n")


def reference(x, weights):
    x = np.asarray(x, np.float64)
    out = {}
    for name, (n, layout, bias, _) in LINEARS.items():
        w = np.asarray(weights[name + ".weight"], np.float64)
        y = x @ (w.T if layout == "out_in" else w)
        if bias:
            y = y + np.asarray(weights[name + ".bias"], np.float64)
        out[name] = y
    return out


def check_panels(model, failures, label):
    """Every weight matrix must be stored as padded panels of its tile."""
    with open(os.path.join(model, "model.json")) as f:
        tensors = json.load(f)["weights"]["tensors"]
    for name, (n, _, _, width) in LINEARS.items():
        stored = [t for t in tensors if t["source"] == name + ".weight"]
        want = [-(-n // width), width]
        bad = [t for t in stored
               if t["panels"] != width or [t["shape"][0], t["shape"][2]] != want
               or t.get("columns") != n]
        if not stored or bad:
            failures.append(f"[{label}] {name}.weight (N={n}) not stored as "
                            f"{want[0]} panels of {width}: {stored}")


def check_wrong_columns(mlir, weights, workdir, failures):
    """A checkpoint whose a.weight has 39 rows where the model reads 37: the
    same 5 panels of 8, but kiln-compile must still reject it, alone
    (--no-fuse-qkv) and stacked with c.weight (37 + 73 = 110 rows, 5 panels
    of 24, where 39 + 73 would fill 5 as well)."""
    bad = dict(weights)
    bad["a.weight"] = np.zeros((39, K), np.float32)
    for flags, rows in ((["--no-fuse-qkv"], 37), ([], 110)):
        label = f"[wrong columns {' '.join(flags) or 'fused'}]"
        want = (f"weight 'a.weight': the model expects F32 [{rows}, {K}] but "
                f"{os.path.join(workdir, 'weights.safetensors')} has F32 "
                f"[{rows + 2}, {K}]")
        try:
            testing.compile_model(mlir, bad, workdir, extra_flags=flags)
            failures.append(f"{label} kiln-compile accepted 39 rows for 37")
        except testing.ToolError as error:
            ok = want in str(error)
            print(f"{label} rejected: {'as expected' if ok else str(error)}")
            if not ok:
                failures.append(f"{label} message lacks '{want}'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    weights = {}
    for name, (n, layout, bias, _) in LINEARS.items():
        shape = (n, K) if layout == "out_in" else (K, n)
        weights[name + ".weight"] = rng.normal(0, 0.1, shape).astype(np.float32)
        if bias:
            weights[name + ".bias"] = rng.normal(0, 0.1, n).astype(np.float32)
    mlir = build_mlir()
    failures = []
    for scheme in SCHEMES:
        label = scheme or "fp32"
        # Each projection on its own (kiln-fuse-qkv would stack a and c).
        flags = ["--no-fuse-qkv"] + (["--quantize=" + scheme] if scheme else [])
        model = testing.compile_model(mlir, weights,
                                      os.path.join(args.workdir, label.replace(":", "_")),
                                      extra_flags=flags)
        check_panels(model, failures, label)
        if scheme:
            count, bad = quantize.check_weights(model, weights)
            failures += [f"[{label}] {line}" for line in bad]
            if count != len(LINEARS):
                failures.append(f"[{label}] {count} quantized weights, expected "
                                f"{len(LINEARS)}")
            ref_weights = quantize.dequantized_state(model, weights)
            rel = 2e-5
        else:
            ref_weights, rel = weights, 1e-5
        for batch, seq in ((1, 1), (2, 37)):
            x = rng.normal(0, 1, (batch, seq, K)).astype(np.float32)
            got = testing.run_model(model, {"x": x}, os.path.join(args.workdir, "run"))
            ref = reference(x, ref_weights)
            for name, (n, *_rest) in LINEARS.items():
                tol = rel * float(np.abs(ref[name]).max()) + 1e-6
                err = float(np.abs(got[name] - ref[name]).max())
                ok = got[name].shape == ref[name].shape and err <= tol
                line = (f"[{label}] batch={batch} seq={seq} N={n}: max abs err "
                        f"{err:.3g} (tol {tol:.3g})")
                print(line + ("" if ok else " FAIL"))
                if not ok:
                    failures.append(line)
    check_wrong_columns(mlir, weights, os.path.join(args.workdir, "wrong"), failures)
    for line in failures:
        print("FAIL", line)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
