"""kiln-fuse-qkv, kiln-fuse-gated-ffn and kiln-fuse-epilogue end to end.

    fusion.py --workdir DIR

Compiles one module twice, with the fusion passes (kiln-compile's default
plus --fuse-epilogue) and with --no-fuse-qkv --no-fuse-gated-ffn. The module
has attention-style projections of one input (Q 52 -> 40, K and V 52 -> 24,
all biased; two unbiased ones of 52 -> 17 and 52 -> 9, where the stack's
width is odd), an output projection with bias and a residual add, a SwiGLU
FFN with a residual add and a GeGLU FFN with biases. Hidden 52 is no
multiple of 8, so the projections back to it take padded panels, their
whole panels and the rest tiled apart, with bias + residual as the
accumulator's init. Each build must record the stacks it is expected to
make in model.json (five in the fused build, none unfused), and every
output must match a float64 PyTorch reference at batch x seq 1x1, 2x7 and
3x37 (tolerance: max|kiln - ref| <= max(1e-5, 1e-4 * max|ref|)).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

from kiln import testing

HID, QO, KVO, INTER = 52, 40, 24, 64
ODD = (17, 9)

MLIR = f"""
func.func @forward(%x: tensor<?x?x{HID}xf32> {{kiln.name = "x"}})
    -> (tensor<?x?x{QO}xf32> {{kiln.name = "q"}}, tensor<?x?x{KVO}xf32> {{kiln.name = "k"}},
        tensor<?x?x{KVO}xf32> {{kiln.name = "v"}}, tensor<?x?x{ODD[0]}xf32> {{kiln.name = "a"}},
        tensor<?x?x{ODD[1]}xf32> {{kiln.name = "b"}}, tensor<?x?x{HID}xf32> {{kiln.name = "swiglu"}},
        tensor<?x?x{HID}xf32> {{kiln.name = "geglu"}}, tensor<?x?x{HID}xf32> {{kiln.name = "h"}}) {{
  %wq = kiln.param "q.weight" : tensor<{QO}x{HID}xf32>
  %bq = kiln.param "q.bias" : tensor<{QO}xf32>
  %q = kiln.linear %x, %wq bias %bq : (tensor<?x?x{HID}xf32>, tensor<{QO}x{HID}xf32>, tensor<{QO}xf32>) -> tensor<?x?x{QO}xf32>
  %wk = kiln.param "k.weight" : tensor<{KVO}x{HID}xf32>
  %bk = kiln.param "k.bias" : tensor<{KVO}xf32>
  %k = kiln.linear %x, %wk bias %bk : (tensor<?x?x{HID}xf32>, tensor<{KVO}x{HID}xf32>, tensor<{KVO}xf32>) -> tensor<?x?x{KVO}xf32>
  %wv = kiln.param "v.weight" : tensor<{KVO}x{HID}xf32>
  %bv = kiln.param "v.bias" : tensor<{KVO}xf32>
  %v = kiln.linear %x, %wv bias %bv : (tensor<?x?x{HID}xf32>, tensor<{KVO}x{HID}xf32>, tensor<{KVO}xf32>) -> tensor<?x?x{KVO}xf32>
  %wa = kiln.param "a.weight" : tensor<{ODD[0]}x{HID}xf32>
  %a = kiln.linear %x, %wa : (tensor<?x?x{HID}xf32>, tensor<{ODD[0]}x{HID}xf32>) -> tensor<?x?x{ODD[0]}xf32>
  %wb = kiln.param "b.weight" : tensor<{ODD[1]}x{HID}xf32>
  %b = kiln.linear %x, %wb : (tensor<?x?x{HID}xf32>, tensor<{ODD[1]}x{HID}xf32>) -> tensor<?x?x{ODD[1]}xf32>
  %v2 = kiln.activation <relu> %q : tensor<?x?x{QO}xf32>
  %up = kiln.param "mlp.up.weight" : tensor<{INTER}x{HID}xf32>
  %gate = kiln.param "mlp.gate.weight" : tensor<{INTER}x{HID}xf32>
  %down = kiln.param "mlp.down.weight" : tensor<{HID}x{INTER}xf32>
  %wo = kiln.param "o.weight" : tensor<{HID}x{QO}xf32>
  %bo = kiln.param "o.bias" : tensor<{HID}xf32>
  %o = kiln.linear %v2, %wo bias %bo : (tensor<?x?x{QO}xf32>, tensor<{HID}x{QO}xf32>, tensor<{HID}xf32>) -> tensor<?x?x{HID}xf32>
  %h = kiln.add %x, %o : tensor<?x?x{HID}xf32>
  %f = kiln.ffn %h up %up gate %gate down %down activation <silu>
      : (tensor<?x?x{HID}xf32>, tensor<{INTER}x{HID}xf32>, tensor<{INTER}x{HID}xf32>, tensor<{HID}x{INTER}xf32>) -> tensor<?x?x{HID}xf32>
  %s = kiln.add %f, %h : tensor<?x?x{HID}xf32>
  %ub = kiln.param "mlp.up.bias" : tensor<{INTER}xf32>
  %gb = kiln.param "mlp.gate.bias" : tensor<{INTER}xf32>
  %db = kiln.param "mlp.down.bias" : tensor<{HID}xf32>
  %g = kiln.ffn %x up %up gate %gate down %down up_bias %ub gate_bias %gb down_bias %db activation <gelu>
      : (tensor<?x?x{HID}xf32>, tensor<{INTER}x{HID}xf32>, tensor<{INTER}x{HID}xf32>, tensor<{HID}x{INTER}xf32>, tensor<{INTER}xf32>, tensor<{INTER}xf32>, tensor<{HID}xf32>) -> tensor<?x?x{HID}xf32>
  return %q, %k, %v, %a, %b, %s, %g, %h : tensor<?x?x{QO}xf32>, tensor<?x?x{KVO}xf32>, tensor<?x?x{KVO}xf32>, tensor<?x?x{ODD[0]}xf32>, tensor<?x?x{ODD[1]}xf32>, tensor<?x?x{HID}xf32>, tensor<?x?x{HID}xf32>, tensor<?x?x{HID}xf32>
}}
"""

# The stacks (source + concat) the fused build must record.
EXPECTED_STACKS = {
    ("q.weight", "k.weight", "v.weight"), ("q.bias", "k.bias", "v.bias"),
    ("a.weight", "b.weight"), ("mlp.gate.weight", "mlp.up.weight"),
    ("mlp.gate.bias", "mlp.up.bias"),
}


def make_weights(rng):
    shapes = {"q.weight": (QO, HID), "q.bias": (QO,), "k.weight": (KVO, HID),
              "k.bias": (KVO,), "v.weight": (KVO, HID), "v.bias": (KVO,),
              "a.weight": (ODD[0], HID), "b.weight": (ODD[1], HID),
              "mlp.up.weight": (INTER, HID), "mlp.gate.weight": (INTER, HID),
              "mlp.down.weight": (HID, INTER), "mlp.up.bias": (INTER,),
              "mlp.gate.bias": (INTER,), "mlp.down.bias": (HID,),
              "o.weight": (HID, QO), "o.bias": (HID,)}
    return {n: (rng.standard_normal(s) * (0.2 if len(s) == 2 else 0.5)).astype(np.float32)
            for n, s in shapes.items()}


def reference(x, w):
    t = {k: torch.from_numpy(v).double() for k, v in w.items()}
    x = torch.from_numpy(x).double()
    lin = torch.nn.functional.linear
    q = lin(x, t["q.weight"], t["q.bias"])
    h = x + lin(torch.relu(q), t["o.weight"], t["o.bias"])
    swiglu = h + lin(torch.nn.functional.silu(lin(h, t["mlp.gate.weight"])) *
                     lin(h, t["mlp.up.weight"]), t["mlp.down.weight"])
    geglu = lin(torch.nn.functional.gelu(lin(x, t["mlp.gate.weight"], t["mlp.gate.bias"])) *
                lin(x, t["mlp.up.weight"], t["mlp.up.bias"]),
                t["mlp.down.weight"], t["mlp.down.bias"])
    return {"q": q, "k": lin(x, t["k.weight"], t["k.bias"]),
            "v": lin(x, t["v.weight"], t["v.bias"]), "a": lin(x, t["a.weight"]),
            "b": lin(x, t["b.weight"]), "swiglu": swiglu, "geglu": geglu, "h": h}


def stacks(model):
    with open(os.path.join(model, "model.json")) as f:
        tensors = json.load(f)["weights"]["tensors"]
    return {tuple([t["source"]] + t["concat"]) for t in tensors if "concat" in t}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    weights = make_weights(rng)
    tolerance = testing.Tolerance()
    failures = 0
    for label, flags, expected in (
            ("fused", ["--fuse-epilogue"], EXPECTED_STACKS),
            ("unfused", ["--no-fuse-qkv", "--no-fuse-gated-ffn"], set())):
        workdir = os.path.join(args.workdir, label)
        model = testing.compile_model(MLIR, weights, workdir, extra_flags=flags)
        found = stacks(model)
        ok = found == expected
        failures += not ok
        print(f"[{label}] stacked weights {sorted(found)} "
              f"{'ok' if ok else 'FAIL (expected ' + str(sorted(expected)) + ')'}")
        for batch, seq in ((1, 1), (2, 7), (3, 37)):
            x = rng.standard_normal((batch, seq, HID)).astype(np.float32)
            got = testing.run_model(model, {"x": x}, workdir)
            for name, ref in reference(x, weights).items():
                ok, line = testing.compare(
                    f"[{label}] batch={batch} seq={seq} {name}", got[name],
                    ref.numpy(), tolerance)
                print(line)
                failures += not ok
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
