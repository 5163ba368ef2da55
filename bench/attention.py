#!/usr/bin/env python3
"""Kiln's fused attention vs its reference lowering vs PyTorch, one run.

Self-attention of 12 heads x 64, batch 1, causal and not, at several
sequence lengths: Kiln with the fused online-softmax kernel (default), Kiln
with --no-flash-attention (the score matrix in memory) and PyTorch 1.13's
materialised softmax(Q K^T) V, same inputs, same machine. Prints medians,
ratios and the peak memory the score matrix would need.

  /usr/bin/python3 bench/attention.py [--seqs 512,2048] [--threads 2]

With --decode 2048,8192 it times a decode step instead: one query against
a K/V cache of each length, Kiln (the split-K form) at 1 thread and at
--threads, and PyTorch at --threads.
"""

import argparse
import os
import subprocess
import tempfile

from common import kiln_run_ms, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

HEADS, DIM = 12, 64


def model(causal):
    t = f"tensor<?x?x{HEADS}x{DIM}xf32>"
    mask = " mask <causal>" if causal else ""
    return (f'func.func @forward(%q: {t} {{kiln.name = "q"}}, %k: {t} {{kiln.name = "k"}}, '
            f'%v: {t} {{kiln.name = "v"}}) -> ({t} {{kiln.name = "out"}}) {{\n'
            f"  %o = kiln.attention %q, %k, %v heads {HEADS} kv_heads {HEADS}{mask}"
            f" : ({t}, {t}, {t}) -> {t}\n  return %o : {t}\n}}\n")


def decode_model():
    """One attention whose query and keys have lengths of their own."""
    t = f"tensor<?x?x{HEADS}x{DIM}xf32>"
    def arg(name, seq):
        return (f'%{name}: {t} {{kiln.name = "{name}", '
                f'kiln.dims = ["batch", "{seq}", "", ""]}}')
    return (f'func.func @forward({arg("q", "q_len")}, {arg("k", "kv_len")}, '
            f'{arg("v", "kv_len")}) -> ({t} {{kiln.name = "out", '
            f'kiln.dims = ["batch", "q_len", "", ""]}}) {{\n'
            f"  %o = kiln.attention %q, %k, %v heads {HEADS} kv_heads {HEADS}"
            f" : ({t}, {t}, {t}) -> {t}\n  return %o : {t}\n}}\n")


def bench_decode(keys, args, work):
    """One query against `keys` cached keys: Kiln (split-K) at 1 thread and
    at --threads, PyTorch at --threads; GB/s counts K and V read once."""
    src = os.path.join(work, "decode.mlir")
    with open(src, "w") as f:
        f.write(decode_model())
    out = os.path.join(work, "decode")
    subprocess.run([tool("kiln-compile"), src, "-o", out, "--quiet"], check=True)
    print(f"# decode: 1 query vs a cache of K/V [1, S, {HEADS}, {DIM}], medians of "
          f"{args.iterations}")
    for s in keys:
        rng = np.random.default_rng(s)
        arrays = {"q": rng.standard_normal((1, 1, HEADS, DIM)).astype(np.float32)}
        for n in "kv":
            arrays[n] = rng.standard_normal((1, s, HEADS, DIM)).astype(np.float32)
        inputs = {}
        for n, a in arrays.items():
            inputs[n] = os.path.join(work, f"d{n}.npy")
            np.save(inputs[n], a)
        one = kiln_run_ms(out, inputs, 1, 1, args.iterations, work)
        many = kiln_run_ms(out, inputs, args.threads, 1, args.iterations, work)
        q, k, v = (torch.from_numpy(arrays[n]).transpose(1, 2) for n in "qkv")
        def run():
            return ((q @ k.transpose(-1, -2)) / DIM ** 0.5).softmax(-1) @ v
        t_ms = torch_median_ms(run, 1, args.iterations)
        gbytes = 2 * s * HEADS * DIM * 4 / 1e9
        print(f"decode keys {s:6}  kiln 1 thread {one:7.3f} ms   kiln {args.threads} threads "
              f"{many:7.3f} ms ({gbytes / many * 1e3:5.1f} GB/s)   {args.threads} vs 1 thread "
              f"{one / many:5.2f}x   torch {t_ms:7.3f} ms   torch/kiln {t_ms / many:5.2f}x",
              flush=True)


def torch_ms(q, k, v, causal, iterations):
    q, k, v = (torch.from_numpy(a).transpose(1, 2) for a in (q, k, v))
    s = q.shape[2]
    def run():
        scores = q @ k.transpose(-1, -2) / DIM ** 0.5
        if causal:
            scores = scores.masked_fill(
                torch.triu(torch.ones(s, s, dtype=torch.bool), 1), float("-inf"))
        return scores.softmax(-1) @ v
    return torch_median_ms(run, 1, iterations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seqs", default="512,2048")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--decode", default="",
                        help="cache lengths for the decode benchmark (e.g. 2048,8192); "
                        "with it, only decode runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {HEADS} heads x {DIM}, batch 1, {args.threads} threads, medians of "
          f"{args.iterations}")
    with tempfile.TemporaryDirectory() as work:
        if args.decode:
            bench_decode([int(x) for x in args.decode.split(",")], args, work)
            return
        for causal in (False, True):
            src = os.path.join(work, f"att{causal}.mlir")
            with open(src, "w") as f:
                f.write(model(causal))
            flash, ref = os.path.join(work, f"f{causal}"), os.path.join(work, f"r{causal}")
            subprocess.run([tool("kiln-compile"), src, "-o", flash, "--quiet"], check=True)
            subprocess.run([tool("kiln-compile"), src, "-o", ref, "--quiet",
                            "--no-flash-attention"], check=True)
            for s in (int(x) for x in args.seqs.split(",")):
                rng = np.random.default_rng(s)
                arrays = {n: rng.standard_normal((1, s, HEADS, DIM)).astype(np.float32)
                          for n in "qkv"}
                inputs = {}
                for n, a in arrays.items():
                    inputs[n] = os.path.join(work, f"{n}.npy")
                    np.save(inputs[n], a)
                f_ms = kiln_run_ms(flash, inputs, args.threads, 1, args.iterations, work)
                r_ms = kiln_run_ms(ref, inputs, args.threads, 1, args.iterations, work)
                t_ms = torch_ms(arrays["q"], arrays["k"], arrays["v"], causal,
                                args.iterations)
                scores_mb = HEADS * s * s * 4 / 2**20
                print(f"{'causal' if causal else 'full':6} seq {s:5}  kiln fused {f_ms:8.2f} ms"
                      f"   kiln reference {r_ms:8.2f} ms   torch {t_ms:8.2f} ms"
                      f"   torch/fused {t_ms / f_ms:5.2f}x   reference/fused {r_ms / f_ms:5.2f}x"
                      f"   (scores: {scores_mb:.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
