#!/usr/bin/env python3
"""Decode-step projections: one token through a Linear, Kiln vs PyTorch.

A decode step multiplies one row by every weight of the model, so it is
bound by how fast the weights stream from memory, and it is fast only when
every core streams its own part. For each shape (GPT-2/BERT-base 768 ->
768, 768 -> 3072, 3072 -> 768; LLaMA-7B 4096 -> 4096) and weight format
(fp32, int8 per channel, int4 g128) this compiles one kiln.linear twice:
with kiln-compile's default column blocks (`--weight-column-blocks 8`,
kiln-cpu-tile-and-parallelize) and with rows only (`0`, one task for one
row), and times both with kiln-run next to PyTorch's fp32 nn.Linear at the
same thread count. `--rows M` times M tokens at once instead (prefill), to
check that the column blocks cost nothing there. Printed: median ms, GB/s of weight bytes streamed, the
column-split speedup, Kiln/PyTorch, and the max abs error against the
float64 product.

  /usr/bin/python3 bench/decode.py [--threads 2] [--iterations 50]

Needs a build (scripts/build, or KILN_BUILD_DIR) and Debian's python3-torch.
"""

import argparse
import os
import subprocess
import tempfile

from common import kiln_run_ms, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import safetensors_io  # noqa: E402

SHAPES = [(768, 768), (768, 3072), (3072, 768), (4096, 4096)]
FORMATS = [("fp32", [], 4.0), ("int8", ["--quantize=int8"], 1.0),
           ("int4", ["--quantize=int4:g128"], 0.5)]


def model_text(k, n):
    return (f'func.func @forward(%x: tensor<?x{k}xf32> {{kiln.name = "x"}}) -> '
            f'(tensor<?x{n}xf32> {{kiln.name = "y"}}) {{\n'
            f'  %w = kiln.param "fc.weight" : tensor<{n}x{k}xf32>\n'
            f'  %y = kiln.linear %x, %w : (tensor<?x{k}xf32>, tensor<{n}x{k}xf32>)'
            f' -> tensor<?x{n}xf32>\n'
            f'  return %y : tensor<?x{n}xf32>\n}}\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1,
                        help="tokens per call (1: a decode step; more: prefill)")
    parser.add_argument("--shapes", default=",".join(f"{k}x{n}" for k, n in SHAPES),
                        help="K x N pairs, comma separated")
    parser.add_argument("--workdir", help="keep the models here (default: a temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-bench-decode-")
    rng = np.random.default_rng(0)
    print(f"# {args.rows} token(s) ({args.rows} x K) through Linear K -> N; {args.threads} threads; "
          f"medians of {args.iterations} after {args.warmup} warmup")
    print(f"{'shape':>11s} {'format':6s} {'split ms':>9s} {'GB/s':>6s} "
          f"{'rows ms':>9s} {'GB/s':>6s} {'split/rows':>10s} {'torch fp32':>10s} "
          f"{'torch/split':>11s} {'max err':>8s}")
    for shape in args.shapes.split(","):
        k, n = (int(v) for v in shape.split("x"))
        folder = os.path.join(workdir, f"{k}x{n}")
        os.makedirs(folder, exist_ok=True)
        weight = (rng.standard_normal((n, k)) * 0.02).astype(np.float32)
        x = rng.standard_normal((args.rows, k)).astype(np.float32)
        ref = x.astype(np.float64) @ weight.T.astype(np.float64)
        mlir = os.path.join(folder, "linear.mlir")
        with open(mlir, "w") as f:
            f.write(model_text(k, n))
        weights = os.path.join(folder, "weights.safetensors")
        safetensors_io.save({"fc.weight": weight}, weights)
        x_path = os.path.join(folder, "x.npy")
        np.save(x_path, x)
        linear = torch.nn.Linear(k, n, bias=False)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
        x_torch = torch.from_numpy(x)
        torch_ms = torch_median_ms(lambda: linear(x_torch), args.warmup, args.iterations)
        for label, flags, bytes_per_weight in FORMATS:
            result = {}
            for variant, blocks in (("split", 8), ("rows", 0)):
                model = os.path.join(folder, f"{label}-{variant}")
                subprocess.run([tool("kiln-compile"), mlir, "--weights", weights, "-o", model,
                                "--quiet", f"--weight-column-blocks={blocks}"] + flags,
                               check=True)
                out = os.path.join(folder, "out")
                ms = kiln_run_ms(model, {"x": x_path}, args.threads, args.warmup,
                                 args.iterations, out)
                result[variant] = ms, np.load(os.path.join(out, "y.npy"))
            gbytes = k * n * bytes_per_weight / 1e9
            split_ms, y = result["split"]
            rows_ms, _ = result["rows"]
            print(f"{k:>5d}x{n:<5d} {label:6s} {split_ms:9.3f} {gbytes / split_ms * 1e3:6.1f} "
                  f"{rows_ms:9.3f} {gbytes / rows_ms * 1e3:6.1f} {rows_ms / split_ms:9.2f}x "
                  f"{torch_ms if label == 'fp32' else float('nan'):10.3f} "
                  f"{torch_ms / split_ms:10.2f}x {np.abs(y - ref).max():8.1e}", flush=True)


if __name__ == "__main__":
    main()
