"""kiln-compile --quantize end to end, against the numpy reference of the
same quantization (python/kiln/quantize.py).

    quantize.py dense|bundled --workdir DIR [--family F ...]

For every scheme: compile, read model.weights.safetensors back and require
the integer values and the bit patterns of the scales and zero points to
equal the numpy quantization of the checkpoint; run the model and compare it
with a float64 reference that uses the numpy-dequantized weights:
  dense    kiln.linear (K=128, N=48: vectorized tiles; N=6: scalar loops,
           out_in + bias) and a SwiGLU kiln.ffn (64 -> 128 -> 64) at
           batch x seq 1x1, 2x7, 3x37; reference in numpy;
  bundled  the bundled BERT, LLaMA, GPT-2 and Mamba folders cut to one
           layer (one scheme each) at batch 2 x seq 17; reference
           kiln.reference.forward.
Each comparison must also be further than its tolerance from the fp32
reference (the weights really are quantized). Tolerance: max|kiln - ref| <=
2e-5 * max|ref| + 1e-6 (dense), 1e-3 absolute (bundled, as the fp32 tests).
"""

import argparse
import os
import sys

import numpy as np

from kiln import bundled, quantize, reference, testing

SCHEMES = ["int8", "int8:asym", "int4:g32", "int4:g64:asym"]
BUNDLED = {"bert": "int4:g32", "llama": "int4:g32:asym", "gpt2": "int8",
           "mamba": "int8:asym"}

DENSE_MLIR = """
func.func @forward(%x: tensor<?x?x128xf32> {kiln.name = "x"}, %h: tensor<?x?x64xf32> {kiln.name = "h"})
    -> (tensor<?x?x48xf32> {kiln.name = "wide"}, tensor<?x?x6xf32> {kiln.name = "narrow"},
        tensor<?x?x64xf32> {kiln.name = "ffn"}) {
  %w1 = kiln.param "wide.weight" : tensor<48x128xf32>
  %b1 = kiln.param "wide.bias" : tensor<48xf32>
  %y1 = kiln.linear %x, %w1 bias %b1 : (tensor<?x?x128xf32>, tensor<48x128xf32>, tensor<48xf32>) -> tensor<?x?x48xf32>
  %w2 = kiln.param "narrow.weight" : tensor<6x128xf32>
  %y2 = kiln.linear %x, %w2 : (tensor<?x?x128xf32>, tensor<6x128xf32>) -> tensor<?x?x6xf32>
  %up = kiln.param "mlp.up_proj.weight" : tensor<128x64xf32>
  %gate = kiln.param "mlp.gate_proj.weight" : tensor<128x64xf32>
  %down = kiln.param "mlp.down_proj.weight" : tensor<64x128xf32>
  %y3 = kiln.ffn %h up %up gate %gate down %down activation <silu>
      : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return %y1, %y2, %y3 : tensor<?x?x48xf32>, tensor<?x?x6xf32>, tensor<?x?x64xf32>
}
"""


class Checker:
    def __init__(self):
        self.failures = 0

    def record(self, ok, line):
        print(line + ("" if ok else " FAIL"))
        self.failures += not ok

    def weights(self, label, model, checkpoint, expect):
        count, bad = quantize.check_weights(model, checkpoint)
        for line in bad:
            self.record(False, f"[{label}] {line}")
        self.record(not bad and count == expect,
                    f"[{label}] {count} quantized weights (expected {expect}) equal the "
                    f"numpy quantization bit for bit")

    def output(self, label, got, ref, ref_fp32, tol):
        err = float(np.abs(got - ref).max())
        fp32 = float(np.abs(got - ref_fp32).max())
        self.record(err <= tol and fp32 > tol,
                    f"{label}: max abs err {err:.3g} vs dequantized reference (tol "
                    f"{tol:.3g}); {fp32:.3g} vs fp32 (must exceed tol)")


def silu(x):
    return x / (1 + np.exp(-x))


def dense_reference(inputs, w):
    x, h = (np.asarray(inputs[n], np.float64) for n in ("x", "h"))
    wide = x @ w["wide.weight"].T + w["wide.bias"]
    narrow = x @ w["narrow.weight"].T
    ffn = (silu(h @ w["mlp.gate_proj.weight"].T) * (h @ w["mlp.up_proj.weight"].T)) \
        @ w["mlp.down_proj.weight"].T
    return {"wide": wide, "narrow": narrow, "ffn": ffn}


def run_dense(workdir, check):
    rng = np.random.default_rng(7)
    weights = {
        "wide.weight": rng.normal(0, 0.1, (48, 128)), "wide.bias": rng.normal(0, 0.1, 48),
        "narrow.weight": rng.normal(0, 0.1, (6, 128)),
        "mlp.up_proj.weight": rng.normal(0, 0.1, (128, 64)),
        "mlp.gate_proj.weight": rng.normal(0, 0.1, (128, 64)),
        "mlp.down_proj.weight": rng.normal(0, 0.1, (64, 128))}
    # An outlier column: asymmetric and grouped schemes must still be exact.
    weights["wide.weight"][:, 5] += 0.5
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    fp32 = {k: v.astype(np.float64) for k, v in weights.items()}
    for scheme in SCHEMES:
        label = f"dense {scheme}"
        model = testing.compile_model(DENSE_MLIR, weights,
                                      os.path.join(workdir, scheme.replace(":", "_")),
                                      extra_flags=["--quantize=" + scheme])
        check.weights(label, model, weights, expect=5)
        deq = quantize.dequantized_state(model, weights)
        for batch, seq in ((1, 1), (2, 7), (3, 37)):
            inputs = {"x": rng.normal(0, 1, (batch, seq, 128)).astype(np.float32),
                      "h": rng.normal(0, 1, (batch, seq, 64)).astype(np.float32)}
            got = testing.run_model(model, inputs, os.path.join(workdir, "run"))
            ref = dense_reference(inputs, deq)
            ref32 = dense_reference(inputs, fp32)
            for name in ("wide", "narrow", "ffn"):
                tol = 2e-5 * float(np.abs(ref[name]).max()) + 1e-6
                check.output(f"[{label}] batch={batch} seq={seq} {name}", got[name],
                             ref[name], ref32[name], tol)


def run_bundled(workdir, check, families):
    from kiln import runtime
    rng = np.random.default_rng(3)
    for family in families:
        scheme = BUNDLED[family]
        label = f"{family} {scheme} (1 layer)"
        hf = os.path.join(workdir, family, "hf")
        layers = {"n_layer": 1} if family == "gpt2" else {"num_hidden_layers": 1}
        bundled.write_model(hf, family, seed=0, **layers)
        config, state = reference.load_hf_folder(hf)
        model = os.path.join(workdir, family, "model")
        testing._run([testing.find_tool("kiln-compile"), hf, "-o", model, "--quiet",
                      "--quantize=" + scheme])
        count, bad = quantize.check_weights(model, state)
        for line in bad:
            check.record(False, f"[{label}] {line}")
        check.record(not bad and count > 0,
                     f"[{label}] {count} quantized weights equal the numpy quantization "
                     f"bit for bit")
        deq = quantize.dequantized_state(model, state)
        ids = rng.integers(0, config["vocab_size"], (2, 17)).astype(np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if family == "bert":
            inputs["token_type_ids"] = np.zeros_like(ids)
        name = "last_hidden_state" if family == "bert" else "logits"
        with runtime.load(model) as m:
            got = m.forward(**inputs)[name]
        ref = reference.forward(config, deq, **inputs).numpy()
        ref32 = reference.forward(config, state, **inputs).numpy()
        check.output(f"[{label}] forward batch=2 seq=17 {name}", got, ref, ref32, 1e-3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("suite", choices=["dense", "bundled"])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--family", action="append", choices=sorted(BUNDLED),
                        help="bundled families to run (default: all)")
    args = parser.parse_args()
    check = Checker()
    if args.suite == "dense":
        run_dense(args.workdir, check)
    else:
        run_bundled(args.workdir, check, args.family or list(BUNDLED))
    print(f"{check.failures} failure(s)")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
