#!/usr/bin/env python3
"""Mamba's selective scan alone: Kiln vs PyTorch's sequential scan, one run.

One kiln.selective_scan as Mamba's mixer runs it (dt_softplus with
dt_bias, D skip, SiLU(z) gate) at Mamba-130m's sizes: d_inner 1536,
state 16, batch 1, L tokens. The peer is the sequential scan of Hugging
Face's MambaMixer.slow_forward written in PyTorch (discretize for all
steps, then one step of the recurrence per token), which is what PyTorch
runs on a CPU without the CUDA kernels. Prints median ms, Kiln at 1 thread
and at --threads, the ratio to PyTorch, and the max abs error against
PyTorch in float64.

  /usr/bin/python3 bench/scan.py [--lengths 512] [--threads 2]

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

D_INNER, STATE = 1536, 16


def model_text():
    x = f"tensor<?x?x{D_INNER}xf32>"
    bc = f"tensor<?x?x{STATE}xf32>"
    a, c = f"tensor<{D_INNER}x{STATE}xf32>", f"tensor<{D_INNER}xf32>"
    st = f"tensor<?x{D_INNER}x{STATE}xf32>"
    args = ", ".join(f'%{n}: {t} {{kiln.name = "{n}"}}'
                     for n, t in (("x", x), ("dt", x), ("B", bc), ("C", bc), ("z", x)))
    return (f"func.func @forward({args}) -> ({x} {{kiln.name = \"y\"}}) {{\n"
            f'  %A = kiln.param "A" : {a}\n  %D = kiln.param "D" : {c}\n'
            f'  %db = kiln.param "dt_bias" : {c}\n'
            f"  %y:2 = kiln.selective_scan %x, %dt, %A, %B, %C D %D z %z dt_bias %db"
            f" dt_softplus : ({x}, {x}, {a}, {bc}, {bc}, {c}, {x}, {c}) -> ({x}, {st})\n"
            f"  return %y#0 : {x}\n}}\n")


def torch_scan(x, dt, a, bm, cm, d, z, dt_bias):
    """MambaMixer.slow_forward's scan: [B, L, D] activations."""
    delta = torch.nn.functional.softplus(dt + dt_bias)            # [B, L, D]
    delta_a = torch.exp(delta[..., None] * a)                     # [B, L, D, N]
    delta_bu = delta[..., None] * bm[:, :, None, :] * x[..., None]
    h = torch.zeros(x.shape[0], x.shape[2], a.shape[1], dtype=x.dtype)
    ys = []
    for t in range(x.shape[1]):
        h = delta_a[:, t] * h + delta_bu[:, t]
        ys.append(torch.matmul(h, cm[:, t, :, None])[..., 0])     # [B, D]
    y = torch.stack(ys, 1) + x * d
    return y * torch.nn.functional.silu(z)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="512")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    weights = {"A": -np.exp(rng.standard_normal((D_INNER, STATE)) * 0.5).astype(np.float32),
               "D": rng.standard_normal(D_INNER).astype(np.float32),
               "dt_bias": (rng.standard_normal(D_INNER) * 0.5 - 1.0).astype(np.float32)}
    print(f"# selective scan d_inner {D_INNER}, state {STATE}, batch 1; "
          f"medians of {args.iterations}")
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "scan.mlir")
        with open(src, "w") as f:
            f.write(model_text())
        safetensors_io.save(weights, os.path.join(work, "w.safetensors"))
        model = os.path.join(work, "model")
        subprocess.run([tool("kiln-compile"), src, "--weights",
                        os.path.join(work, "w.safetensors"), "-o", model, "--quiet"],
                       check=True)
        for length in (int(v) for v in args.lengths.split(",")):
            inputs = {n: rng.standard_normal((1, length, D_INNER if n in "xz" or n == "dt"
                                              else STATE)).astype(np.float32)
                      for n in ("x", "dt", "B", "C", "z")}
            paths = {}
            for n, value in inputs.items():
                paths[n] = os.path.join(work, f"{n}.npy")
                np.save(paths[n], value)
            kiln = {threads: kiln_run_ms(model, paths, threads, 1, args.iterations, work)
                    for threads in (1, args.threads)}
            y = np.load(os.path.join(work, "y.npy"))
            t = {n: torch.from_numpy(v) for n, v in inputs.items()}
            w = {n: torch.from_numpy(v) for n, v in weights.items()}
            peer = (t["x"], t["dt"], w["A"], t["B"], t["C"], w["D"], t["z"], w["dt_bias"])
            with torch.no_grad():
                ref = torch_scan(*(v.double() for v in peer)).numpy()
            torch_ms = torch_median_ms(lambda: torch_scan(*peer), 1, args.iterations)
            print(f"L {length:5}  kiln 1 thread {kiln[1]:8.3f} ms   kiln {args.threads} threads "
                  f"{kiln[args.threads]:8.3f} ms   torch {torch_ms:9.3f} ms   "
                  f"torch/kiln {torch_ms / kiln[args.threads]:6.1f}x   "
                  f"max abs err {np.abs(y - ref).max():.1e}", flush=True)


if __name__ == "__main__":
    main()
