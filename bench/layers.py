#!/usr/bin/env python3
"""Kiln vs PyTorch on whole transformer layers, in one run on this machine.

For each layer (a BERT encoder layer, a LLaMA decoder layer) and size, this
script compiles the layer with kiln-compile (timing the compile), checks the
compiled model once against the PyTorch layer, then times both at the same
batch x seq and prints medians and the ratio. PyTorch is set up as
shared/BENCHMARKING.md asks (OMP_WAIT_POLICY=PASSIVE,
torch.set_num_threads(threads), OpenBLAS told its core type: SkylakeX where
the CPU has AVX-512, Haswell otherwise, since SkylakeX kernels die with
SIGILL on AVX2-only CPUs). It needs Debian's libopenblas0-pthread: without
it python3-torch falls back to the reference BLAS (~2 GFLOP/s).

  /usr/bin/python3 bench/layers.py --sizes small,base --batch 8 --seq 128

Needs a build (scripts/build) and Debian's python3-torch.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

from common import kiln_env, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import models, safetensors_io  # noqa: E402

SIZES = {
    # The example layers of examples/ (tiny), and base-model widths.
    "small": {"bert": dict(hidden=64, heads=4, ffn=256),
              "llama": dict(hidden=64, heads=4, kv_heads=2, ffn=160)},
    "base": {"bert": dict(hidden=768, heads=12, ffn=3072),
             "llama": dict(hidden=768, heads=12, kv_heads=4, ffn=2048)},
}


def torch_bert(w, p, cfg):
    """BertLayer (eval): post-LN, erf GELU, additive padding mask."""
    heads, hidden = cfg["heads"], cfg["hidden"]
    g = lambda name: w[p + models.PARAMS_BERT[name]]
    lin = lambda x, wn, bn: torch.nn.functional.linear(x, g(wn), g(bn))
    ln = lambda x, gn, bn: torch.nn.functional.layer_norm(
        x, (hidden,), g(gn), g(bn), 1e-12)

    def forward(x, mask):
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, heads, -1).transpose(1, 2)
        q, k, v = (split(lin(x, "w" + n, "b" + n)) for n in "qkv")
        scores = q @ k.transpose(-1, -2) / (hidden // heads) ** 0.5
        scores = scores + (1.0 - mask[:, None, None, :].to(x.dtype)) * -1e9
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, hidden)
        h1 = ln(lin(a, "wo", "bo") + x, "g1", "b1")
        f = lin(torch.nn.functional.gelu(lin(h1, "wi", "bi")), "wd", "bd")
        return ln(f + h1, "g2", "b2")
    return forward


def torch_llama(w, p, cfg):
    """LlamaDecoderLayer (eval): RMSNorm, half-rotated RoPE, causal GQA, SwiGLU."""
    heads, kv, hidden = cfg["heads"], cfg["kv_heads"], cfg["hidden"]
    d = hidden // heads
    g = lambda name: w[p + name]
    rms = lambda x, name: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * g(name)
    inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))

    def rope(t, pos):
        ang = pos[..., None].float() * inv
        cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None]
        sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None]
        t1, t2 = t[..., :d // 2], t[..., d // 2:]
        return t * cos + torch.cat([-t2, t1], -1) * sin

    def forward(x, pos):
        b, s, _ = x.shape
        n = rms(x, "input_layernorm.weight")
        q = (n @ g("self_attn.q_proj.weight").T).view(b, s, heads, d).transpose(1, 2)
        k = (n @ g("self_attn.k_proj.weight").T).view(b, s, kv, d).transpose(1, 2)
        v = (n @ g("self_attn.v_proj.weight").T).view(b, s, kv, d).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        k = k.repeat_interleave(heads // kv, 1)
        v = v.repeat_interleave(heads // kv, 1)
        scores = q @ k.transpose(-1, -2) / d ** 0.5
        causal = torch.triu(torch.ones(s, s, dtype=torch.bool), 1)
        a = scores.masked_fill(causal, float("-inf")).softmax(-1) @ v
        h1 = x + a.transpose(1, 2).reshape(b, s, hidden) @ g("self_attn.o_proj.weight").T
        n2 = rms(h1, "post_attention_layernorm.weight")
        f = torch.nn.functional.silu(n2 @ g("mlp.gate_proj.weight").T) * (
            n2 @ g("mlp.up_proj.weight").T)
        return h1 + f @ g("mlp.down_proj.weight").T
    return forward


def make_inputs(kind, batch, seq, hidden, rng):
    x = rng.standard_normal((batch, seq, hidden)).astype(np.float32)
    if kind == "bert":
        lengths = rng.integers(seq // 2, seq + 1, size=batch)
        lengths[0] = seq
        mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
        return {"hidden_states": x, "attention_mask": mask}
    pos = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
    return {"hidden_states": x, "position_ids": pos}


def time_torch(fn, args, warmup, iterations):
    return torch_median_ms(lambda: fn(*args), warmup, iterations)


# short parallel regions); PASSIVE is PyTorch's setting, not Kiln's.


def bench(kind, size, args, workdir):
    cfg = SIZES[size][kind]
    text = (models.bert_layer if kind == "bert" else models.llama_layer)(**cfg)
    weights = models.random_weights(text)
    mlir = os.path.join(workdir, f"{kind}-{size}.mlir")
    wfile = os.path.join(workdir, f"{kind}-{size}.safetensors")
    out = os.path.join(workdir, f"{kind}-{size}")
    with open(mlir, "w") as f:
        f.write(text)
    safetensors_io.save(weights, wfile)
    start = time.perf_counter()
    subprocess.run([tool("kiln-compile"), mlir, "--weights", wfile, "-o", out,
                    "--quiet"], check=True)
    compile_s = time.perf_counter() - start

    rng = np.random.default_rng(1)
    inputs = make_inputs(kind, args.batch, args.seq, cfg["hidden"], rng)
    command = [tool("kiln-run"), out, "--threads", str(args.threads),
               "--output-dir", os.path.join(workdir, "out")]
    for name, array in inputs.items():
        path = os.path.join(workdir, f"{name}.npy")
        np.save(path, array)
        command += ["--input", f"{name}={path}"]
    subprocess.run(command, check=True, capture_output=True, env=kiln_env)
    got = np.load(os.path.join(workdir, "out", "output.npy"))

    tw = {k: torch.from_numpy(v) for k, v in weights.items()}
    prefix = "encoder.layer.0." if kind == "bert" else "model.layers.0."
    forward = (torch_bert if kind == "bert" else torch_llama)(tw, prefix, cfg)
    targs = [torch.from_numpy(a) for a in inputs.values()]
    with torch.no_grad():
        ref = forward(*targs).numpy()
    if kind == "bert":  # padded query rows are not compared
        keep = inputs["attention_mask"].astype(bool)
        got, ref = got[keep], ref[keep]
    err = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))

    kiln_ms, torch_ms = [], []
    for _ in range(args.repeats):
        run = subprocess.run(command + ["--warmup", "2", "--iterations",
                                        str(args.iterations)],
                             check=True, capture_output=True, text=True,
                             env=kiln_env)
        kiln_ms.append(float(re.search(r"median ([0-9.]+) ms", run.stdout).group(1)))
        torch_ms.append(time_torch(forward, targs, 2, args.iterations))
    k, t = statistics.median(kiln_ms), statistics.median(torch_ms)
    print(f"{kind:6} {size:6} {args.batch:>3}x{args.seq:<4} compile {compile_s:6.2f} s"
          f"   kiln {k:9.2f} ms   torch {t:9.2f} ms   torch/kiln {t / k:5.2f}x"
          f"   max rel err {err:.1e}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="small,base")
    parser.add_argument("--layers", default="bert,llama")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3,
                        help="medians of this many timing rounds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {args.threads} threads; PyTorch {torch.__version__} with "
          f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}; medians of "
          f"{args.repeats} rounds x {args.iterations} iterations")
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes.split(","):
            for kind in args.layers.split(","):
                bench(kind, size, args, workdir)


if __name__ == "__main__":
    main()
