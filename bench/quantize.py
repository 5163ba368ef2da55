#!/usr/bin/env python3
"""Weight-only quantization: one Linear 4096 -> 4096 (no bias) in Kiln fp32,
Kiln int8 (per channel), Kiln int4 (g128) and PyTorch fp32 / PyTorch dynamic
int8 (torch.ao.quantization.quantize_dynamic, which also quantizes the
activations per tensor: W8A8), in one run.

Shapes: a GEMM-bound 1024 x 4096 x 4096 (M x K x N) and a batch-1 decode
step 1 x 4096 x 4096, which is bound by reading the weights. Kiln runs
through kiln-run (median of --iterations after --warmup, --threads);
PyTorch (1.13, fp32 OpenBLAS / fbgemm int8) with torch.set_num_threads in
this process. Printed: median ms, ratios to Kiln fp32, max abs error
against the float64 product with the fp32 weights, and the size of each
weights file.

  /usr/bin/python3 bench/quantize.py [--threads 2] [--iterations 5]

Needs a build (scripts/build, or KILN_BUILD_DIR) and Debian's python3-torch.
"""

import argparse
import os
import subprocess
import tempfile
import time

from common import kiln_run_ms, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import safetensors_io  # noqa: E402

K = N = 4096
MLIR = f"""
func.func @forward(%x: tensor<?x{K}xf32> {{kiln.name = "x"}}) -> (tensor<?x{N}xf32> {{kiln.name = "y"}}) {{
  %w = kiln.param "fc.weight" : tensor<{N}x{K}xf32>
  %y = kiln.linear %x, %w : (tensor<?x{K}xf32>, tensor<{N}x{K}xf32>) -> tensor<?x{N}xf32>
  return %y : tensor<?x{N}xf32>
}}
"""
SCHEMES = [("fp32", []), ("int8", ["--quantize=int8"]), ("int4 g128", ["--quantize=int4:g128"])]


def time_kiln(model, x, workdir, args):
    out = os.path.join(workdir, "out")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(workdir, "x.npy")
    np.save(path, x)
    # kiln-run here keeps this process's environment (OMP_WAIT_POLICY=PASSIVE
    # included), as this benchmark always has.
    ms = kiln_run_ms(model, {"x": path}, args.threads, args.warmup, args.iterations, out,
                     env=os.environ)
    return ms, np.load(os.path.join(out, "y.npy"))


def time_torch(module, x, args):
    last = {}

    def run():
        last["y"] = module(x)
    ms = torch_median_ms(run, args.warmup, args.iterations)
    return ms, last["y"].numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--workdir")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-bench-quantize-")
    os.makedirs(workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((N, K)) * 0.02).astype(np.float32)
    mlir = os.path.join(workdir, "linear.mlir")
    with open(mlir, "w") as f:
        f.write(MLIR)
    weights = os.path.join(workdir, "weights.safetensors")
    safetensors_io.save({"fc.weight": weight}, weights)

    models = {}
    for label, flags in SCHEMES:
        model = os.path.join(workdir, label.split()[0])
        start = time.perf_counter()
        subprocess.run([tool("kiln-compile"), mlir, "--weights", weights, "-o", model,
                        "--quiet"] + flags, check=True)
        size = os.path.getsize(os.path.join(model, "model.weights.safetensors"))
        print(f"compiled Kiln {label:9s} in {time.perf_counter() - start:5.1f} s; "
              f"weights file {size / 2**20:6.1f} MiB")
        models[label] = (model, size)
    fp32_size = models["fp32"][1]
    print("weights file size vs fp32: " + ", ".join(
        f"{label} {fp32_size / size:.2f}x smaller" for label, (_, size) in models.items()
        if label != "fp32"))

    linear = torch.nn.Linear(K, N, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weight))
    linear.eval()
    # quantize_dynamic swaps child modules only: wrap the Linear.
    dynamic = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear),
                                                     {torch.nn.Linear}, dtype=torch.qint8)
    assert "Quantized" in type(dynamic[0]).__name__ or "quantized" in str(type(dynamic[0]))
    print(f"threads {args.threads}, median of {args.iterations} after {args.warmup} warmup")
    for m in (1024, 1):
        x = rng.standard_normal((m, K)).astype(np.float32)
        ref = x.astype(np.float64) @ weight.T.astype(np.float64)
        rows = []
        for label, (model, _) in models.items():
            ms, y = time_kiln(model, x, os.path.join(workdir, "run"), args)
            rows.append((f"Kiln {label}", ms, y))
        for label, module in (("PyTorch fp32", linear), ("PyTorch dynamic int8", dynamic)):
            ms, y = time_torch(module, torch.from_numpy(x), args)
            rows.append((label, ms, y))
        base = rows[0][1]
        print(f"\nLinear {m} x {K} x {N}" + (" (batch-1 decode)" if m == 1 else ""))
        for label, ms, y in rows:
            print(f"  {label:22s} {ms:9.3f} ms   {base / ms:5.2f}x Kiln fp32   "
                  f"max abs err {np.abs(y - ref).max():.2e}")


if __name__ == "__main__":
    main()
