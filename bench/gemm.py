#!/usr/bin/env python3
"""fp32 GEMM: Kiln's projection kernel vs OpenBLAS and oneDNN, one run.

C[M, N] = A[M, K] * W[N, K]^T, a Linear layer with PyTorch's weight layout,
at the shapes the fast-CPU issue names (M x K x N: 128 x 768 x 768,
1024 x 768 x 3072, 2048^3). Kiln compiles one kiln.linear (the weight
packed into panels at compile time, as in every compiled model) and runs it
with kiln-run; OpenBLAS runs through PyTorch's F.linear (OPENBLAS_CORETYPE
set, OMP_WAIT_POLICY=PASSIVE, torch.set_num_threads); oneDNN's dnnl_sgemm
runs in a small C driver (bench/peers/dnnl_sgemm.c, built here with
clang-22 when libdnnl-dev is installed, OMP_NUM_THREADS). Prints median ms,
GFLOP/s, the fraction of the nominal fp32 roofline (cores x 2 FMA pipes x
lanes x 2 flops x the clock /proc/cpuinfo reports; turbo clocks run above
it, so a peer can show more than 100%) and Kiln's speed over each peer's.

  /usr/bin/python3 bench/gemm.py [--threads 2] [--iterations 20]

Needs a build (scripts/build, or KILN_BUILD_DIR) and Debian's python3-torch;
libdnnl-dev for the oneDNN column.
"""

import argparse
import os
import re
import shutil
import subprocess
import tempfile

from common import ROOT, kiln_run_ms, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import safetensors_io  # noqa: E402

SHAPES = [(128, 768, 768), (1024, 768, 3072), (2048, 2048, 2048)]


def roofline_gflops(threads):
    """Nominal fp32 peak: 2 FMA pipes x lanes x 2 flops x GHz per core."""
    flags, mhz = [], 0.0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":", 1)[1])
    lanes = 16 if "avx512f" in flags else 8
    return threads * 2 * lanes * 2 * mhz / 1e3


def build_dnnl(work):
    compiler = shutil.which("clang-22") or shutil.which("cc")
    if not compiler or not os.path.exists("/usr/include/dnnl.h"):
        return None
    exe = os.path.join(work, "dnnl_sgemm")
    subprocess.run([compiler, "-O2", os.path.join(ROOT, "bench", "peers", "dnnl_sgemm.c"),
                    "-o", exe, "-ldnnl"], check=True)
    return exe


def kiln_ms(m, k, n, args, work, rng):
    folder = os.path.join(work, f"{m}x{k}x{n}")
    os.makedirs(folder, exist_ok=True)
    mlir = os.path.join(folder, "linear.mlir")
    with open(mlir, "w") as f:
        f.write(f'func.func @forward(%x: tensor<?x{k}xf32> {{kiln.name = "x"}}) -> '
                f'(tensor<?x{n}xf32> {{kiln.name = "y"}}) {{\n'
                f'  %w = kiln.param "w" : tensor<{n}x{k}xf32>\n'
                f'  %y = kiln.linear %x, %w : (tensor<?x{k}xf32>, tensor<{n}x{k}xf32>)'
                f' -> tensor<?x{n}xf32>\n  return %y : tensor<?x{n}xf32>\n}}\n')
    w = rng.standard_normal((n, k)).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    weights = os.path.join(folder, "w.safetensors")
    safetensors_io.save({"w": w}, weights)
    model = os.path.join(folder, "model")
    subprocess.run([tool("kiln-compile"), mlir, "--weights", weights, "-o", model, "--quiet"],
                   check=True)
    x_path = os.path.join(folder, "x.npy")
    np.save(x_path, x)
    ms = kiln_run_ms(model, {"x": x_path}, args.threads, 2, args.iterations, folder)
    y = np.load(os.path.join(folder, "y.npy"))
    error = np.abs(y - x.astype(np.float64) @ w.T.astype(np.float64)).max()
    return ms, x, w, error


def torch_ms(x, w, iterations):
    x, w = torch.from_numpy(x), torch.from_numpy(w)
    return torch_median_ms(lambda: torch.nn.functional.linear(x, w), 2, iterations)


def dnnl_ms(exe, m, k, n, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    run = subprocess.run([exe, str(m), str(n), str(k), str(args.iterations)], check=True,
                         capture_output=True, text=True, env=env)
    return float(re.search(r"median ([0-9.]+) ms", run.stdout).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--shapes", default=",".join("x".join(map(str, s)) for s in SHAPES),
                        help="M x K x N triples, comma separated")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peak = roofline_gflops(args.threads)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as work:
        dnnl = build_dnnl(work)
        print(f"# C = A W^T fp32, {args.threads} threads, medians of {args.iterations}; "
              f"nominal roofline {peak:.0f} GFLOP/s; OpenBLAS via PyTorch "
              f"(OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}); "
              f"oneDNN {'dnnl_sgemm' if dnnl else 'not installed (apt install libdnnl-dev)'}")
        for shape in args.shapes.split(","):
            m, k, n = (int(v) for v in shape.split("x"))
            gflop = 2 * m * k * n / 1e9
            k_ms, x, w, error = kiln_ms(m, k, n, args, work, rng)
            rows = [("Kiln", k_ms), ("OpenBLAS", torch_ms(x, w, args.iterations))]
            if dnnl:
                rows.append(("oneDNN", dnnl_ms(dnnl, m, k, n, args)))
            cells = "   ".join(f"{name} {ms:8.3f} ms {gflop / ms * 1e3:6.1f} GFLOP/s "
                               f"({gflop / ms * 1e3 / peak:4.0%})" for name, ms in rows)
            ratios = "   ".join(f"Kiln/{name} {ms / k_ms:4.2f}x" for name, ms in rows[1:])
            print(f"{m:>5}x{k:<5}x{n:<5} {cells}   {ratios}   Kiln max err {error:.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
