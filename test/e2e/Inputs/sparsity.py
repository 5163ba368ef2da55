"""kiln-compile --sparsify against numpy's dense computation on the same
pruned weights.

    sparsity.py --workdir DIR

One module: a linear with a 2:4 weight and a bias, a linear with a
block-pruned weight (4 of 8 16x16 blocks zero), a linear with a dense
weight, and a gated FFN (SiLU) whose up projection is block-pruned, gate
2:4 and down dense. Each mode compiles it once and runs it on batch x seq
1x1, 2x7 and 1x37 (token counts that are not multiples of the kernels' 16
lanes); model.json must name the forms the mode picks. Tolerance: fp32,
max|kiln - ref| <= max(1e-5, 1e-4 * max|ref|), reference in float64.
Exits 1 on any mismatch.
"""

import argparse
import json
import os
import sys

import numpy as np

from kiln import prune, testing

K, N, INTER = 64, 32, 96


def build(rng):
    def randn(*shape):
        x = rng.standard_normal(shape).astype(np.float32)
        return np.where(np.abs(x) < 0.05, 0.5, x).astype(np.float32)

    weights = {
        "a.weight": prune.prune_2_4(randn(N, K)),
        "a.bias": randn(N),
        "b.weight": prune.prune_blocks(randn(N, K), (16, 16), 0.5),
        "c.weight": randn(N, K),
        "up.weight": prune.prune_blocks(randn(INTER, K), (16, 16), 0.75),
        "gate.weight": prune.prune_2_4(randn(INTER, K)),
        "down.weight": randn(K, INTER),
    }
    x, y = "tensor<?x?x64xf32>", "tensor<?x?x32xf32>"
    wt = lambda r, c: f"tensor<{r}x{c}xf32>"
    mlir = f"""
func.func @main(%x: {x} {{kiln.name = "x"}})
    -> ({y} {{kiln.name = "a"}}, {y} {{kiln.name = "b"}}, {y} {{kiln.name = "c"}},
        {x} {{kiln.name = "ffn"}}) {{
  %wa = kiln.param "a.weight" : {wt(N, K)}
  %ba = kiln.param "a.bias" : tensor<{N}xf32>
  %wb = kiln.param "b.weight" : {wt(N, K)}
  %wc = kiln.param "c.weight" : {wt(N, K)}
  %wu = kiln.param "up.weight" : {wt(INTER, K)}
  %wg = kiln.param "gate.weight" : {wt(INTER, K)}
  %wd = kiln.param "down.weight" : {wt(K, INTER)}
  %a = kiln.linear %x, %wa bias %ba : ({x}, {wt(N, K)}, tensor<{N}xf32>) -> {y}
  %b = kiln.linear %x, %wb : ({x}, {wt(N, K)}) -> {y}
  %c = kiln.linear %x, %wc : ({x}, {wt(N, K)}) -> {y}
  %f = kiln.ffn %x up %wu gate %wg down %wd activation <silu>
      : ({x}, {wt(INTER, K)}, {wt(INTER, K)}, {wt(K, INTER)}) -> {x}
  return %a, %b, %c, %f : {y}, {y}, {y}, {x}
}}
"""
    return mlir, weights


def reference(x, w):
    x = x.astype(np.float64)
    w = {k: v.astype(np.float64) for k, v in w.items()}
    gate = x @ w["gate.weight"].T
    hidden = gate / (1.0 + np.exp(-gate)) * (x @ w["up.weight"].T)
    return {"a": x @ w["a.weight"].T + w["a.bias"], "b": x @ w["b.weight"].T,
            "c": x @ w["c.weight"].T, "ffn": hidden @ w["down.weight"].T}


# Mode -> (flags, expected form per weight).
MODES = {
    "2:4": (["--sparsify=2:4"],
            {"a.weight": "2:4", "b.weight": "dense", "c.weight": "dense",
             "up.weight": "dense", "gate.weight": "2:4",
             "down.weight": "dense"}),
    "block": (["--sparsify=block", "--sparse-block=16x16"],
              {"a.weight": "dense", "b.weight": "bsr16x16",
               "c.weight": "dense", "up.weight": "bsr16x16",
               "gate.weight": "dense", "down.weight": "dense"}),
    "block4x4": (["--sparsify=block", "--sparse-block=4x4"],
                 {"a.weight": "dense", "b.weight": "bsr4x4",
                  "c.weight": "dense", "up.weight": "bsr4x4",
                  "gate.weight": "dense", "down.weight": "dense"}),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    mlir, weights = build(rng)
    failures = 0
    for mode in args.modes.split(","):
        flags, forms = MODES[mode]
        workdir = os.path.join(args.workdir, mode.replace(":", "_"))
        model = testing.compile_model(mlir, weights, workdir, extra_flags=flags)
        with open(os.path.join(model, "model.json")) as f:
            got = {e["weight"]: e["form"] for e in json.load(f)["sparsity"]}
        if got != forms:
            print(f"[{mode}] FAIL forms {got}, expected {forms}")
            failures += 1
        for batch, seq in ((1, 1), (2, 7), (1, 37)):
            x = rng.standard_normal((batch, seq, K)).astype(np.float32)
            out = testing.run_model(model, {"x": x}, workdir)
            for name, ref in reference(x, weights).items():
                tol = testing.Tolerance(rtol=1e-4, atol=1e-5)
                ok, line = testing.compare(f"[{mode}] {batch}x{seq} {name}",
                                           out[name], ref, tol)
                print(("" if ok else "FAIL ") + line)
                failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
