#!/usr/bin/env python3
"""Sparse vs dense Kiln, one run: block-sparse and 2:4 linears, windowed
attention.

Linear: y[M, N] = x[M, K] @ W^T with W [N, K] = [3072, 768] (BERT-base's
FFN up projection) and M = 1024 tokens (the issue's 1024x3072x768, M x N x
K), plus M = 16 (few tokens: weight-bandwidth bound). W is magnitude-pruned
by kiln.prune to 50/75/90% of its 16x16 (and 4x4, 1x16) blocks and to 2:4;
each pruned copy is compiled with the matching --sparsify form, and the
dense kernel (--sparsify=off) runs on the same weights. Ratios are dense
time / sparse time (higher is better). These ratios are the measurements
behind kiln-sparsify's cost model (docs/Sparsity.md).

Attention: causal self-attention, 12 heads x 64, batch 1, `sliding_window
256` vs plain causal at --attn-seq tokens (the fused kernel bounds each
query's key loop to its window).

  /usr/bin/python3 bench/sparsity.py [--threads 2] [--iterations 5]
      [--tokens 1024,16] [--attn-seq 4096] [--only REGEX] [--skip-attention]
      [--cpu-time]
"""

import argparse
import os
import re
import resource
import subprocess
import tempfile

from common import kiln_run_ms, tool  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402

from kiln import prune, safetensors_io  # noqa: E402

N, K = 3072, 768
HEADS, DIM, WINDOW = 12, 64, 256


def kiln_ms(out, inputs, threads, iterations, workdir, cpu_time=False):
    if cpu_time:
        return kiln_cpu_ms(out, inputs, threads, iterations, workdir)
    return kiln_run_ms(out, inputs, threads, 2, iterations, workdir)


def kiln_cpu_ms(out, inputs, threads, iterations, workdir):
    """CPU time (user + sys) per call: kiln-run with 1 and 1 + iterations
    calls, the difference divided by iterations (load, startup and the
    first-touch of the weights cancel). On a loaded shared machine this is
    steadier than wall time; with one thread it is the work done."""
    def run(calls):
        command = [tool("kiln-run"), out, "--threads", str(threads), "--warmup", "0",
                   "--iterations", str(calls), "--output-dir", workdir]
        for name, path in inputs.items():
            command += ["--input", f"{name}={path}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (run(1 + iterations) - run(1)) / iterations * 1000.0


def compile_linear(work, name, weight, flags):
    src = os.path.join(work, "linear.mlir")
    x, y, w = "tensor<?x768xf32>", "tensor<?x3072xf32>", "tensor<3072x768xf32>"
    with open(src, "w") as f:
        f.write(f'func.func @forward(%x: {x} {{kiln.name = "x"}}) -> ({y} {{kiln.name = "y"}}) {{\n'
                f'  %w = kiln.param "fc.weight" : {w}\n'
                f"  %y = kiln.linear %x, %w : ({x}, {w}) -> {y}\n"
                f"  return %y : {y}\n}}\n")
    weights = os.path.join(work, f"{name}.safetensors")
    safetensors_io.save({"fc.weight": weight}, weights)
    out = os.path.join(work, name)
    subprocess.run([tool("kiln-compile"), src, "--weights", weights, "-o", out,
                    "--quiet"] + flags, check=True)
    return out


def bench_linear(args, work):
    rng = np.random.default_rng(0)
    dense_w = rng.standard_normal((N, K)).astype(np.float32)
    configs = [("2:4", "2:4", 0.5, ["--sparsify=2:4"])]
    for block in ("16x16", "4x4", "1x16"):
        for sparsity in (0.5, 0.75, 0.9):
            configs.append((f"block {block} {int(sparsity * 100)}%", f"block:{block}",
                            sparsity, ["--sparsify=block", f"--sparse-block={block}"]))
    configs = [c for c in configs if re.search(args.only, c[0])]
    dense = compile_linear(work, "dense", dense_w, ["--sparsify=off"])
    compiled = []
    for label, pattern, sparsity, flags in configs:
        w = (prune.prune_2_4(dense_w) if pattern == "2:4"
             else prune.prune_blocks(dense_w, prune.parse_pattern(pattern)[1], sparsity))
        name = re.sub(r"[^a-z0-9]+", "_", label)
        compiled.append((label, compile_linear(work, name, w, flags)))
    for m in (int(t) for t in args.tokens.split(",")):
        x = rng.standard_normal((m, K)).astype(np.float32)
        path = os.path.join(work, "x.npy")
        np.save(path, x)
        inputs = {"x": path}
        what = (f"CPU ms per call over {args.iterations} calls" if args.cpu_time
                else f"medians of {args.iterations}")
        print(f"# Linear M={m} x N={N} x K={K}, {args.threads} threads, {what}",
              flush=True)
        for label, out in compiled:
            # Dense is timed next to each sparse run: ratios of neighbours
            # hold up better on a loaded machine than one shared baseline.
            d_ms = kiln_ms(dense, inputs, args.threads, args.iterations, work,
                           args.cpu_time)
            s_ms = kiln_ms(out, inputs, args.threads, args.iterations, work,
                           args.cpu_time)
            print(f"{label:18} dense {d_ms:8.3f} ms  sparse {s_ms:8.3f} ms  "
                  f"dense/sparse {d_ms / s_ms:5.2f}x", flush=True)


def attention_model(mask):
    t = f"tensor<?x?x{HEADS}x{DIM}xf32>"
    return (f'func.func @forward(%q: {t} {{kiln.name = "q"}}, %k: {t} {{kiln.name = "k"}}, '
            f'%v: {t} {{kiln.name = "v"}}) -> ({t} {{kiln.name = "out"}}) {{\n'
            f"  %o = kiln.attention %q, %k, %v heads {HEADS} kv_heads {HEADS} mask <{mask}>"
            f" : ({t}, {t}, {t}) -> {t}\n  return %o : {t}\n}}\n")


def bench_attention(args, work):
    outs = {}
    for label, mask in (("causal", "causal"), ("window", f"sliding_window {WINDOW}")):
        src = os.path.join(work, f"{label}.mlir")
        with open(src, "w") as f:
            f.write(attention_model(mask))
        outs[label] = os.path.join(work, f"att_{label}")
        subprocess.run([tool("kiln-compile"), src, "-o", outs[label], "--quiet"],
                       check=True)
    s = args.attn_seq
    rng = np.random.default_rng(s)
    inputs = {}
    for n in "qkv":
        inputs[n] = os.path.join(work, f"{n}.npy")
        np.save(inputs[n], rng.standard_normal((1, s, HEADS, DIM)).astype(np.float32))
    full = kiln_ms(outs["causal"], inputs, args.threads, args.iterations, work,
                   args.cpu_time)
    window = kiln_ms(outs["window"], inputs, args.threads, args.iterations, work,
                     args.cpu_time)
    print(f"# attention {HEADS} heads x {DIM}, batch 1, seq {s}, {args.threads} threads")
    print(f"causal {full:9.2f} ms  sliding_window {WINDOW} {window:9.2f} ms  "
          f"causal/window {full / window:5.2f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--tokens", default="1024,16")
    parser.add_argument("--attn-seq", type=int, default=4096)
    parser.add_argument("--only", default="", help="regex of linear configs to run")
    parser.add_argument("--cpu-time", action="store_true",
                        help="report CPU time per call instead of wall-clock medians "
                             "(steadier on a loaded machine; use with --threads 1)")
    parser.add_argument("--skip-attention", action="store_true")
    parser.add_argument("--skip-linear", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if not args.skip_linear:
            bench_linear(args, work)
        if not args.skip_attention:
            bench_attention(args, work)


if __name__ == "__main__":
    main()
