#!/usr/bin/env python3
"""Kiln's projection fusions on and off, in one run.

Writes a LLaMA-shaped Hugging Face checkpoint (bundled.py's generator;
default hidden 1024, intermediate 2816, 16 heads, 4 KV heads, 4 layers,
vocab 2048), compiles it twice -- with kiln-fuse-qkv and
kiln-fuse-gated-ffn (kiln-compile's default) plus --fuse-epilogue, and with
--no-fuse-qkv --no-fuse-gated-ffn -- checks that both give the same logits
(to rounding: the residual joins the sum first), and times,
alternating the two builds each round:

  decode   kiln-run --generate N after a P-token prompt: median ms/token
           (one token through every layer with a growing KV cache);
  forward  kiln-run on batch x seq tokens: median ms.

Prints medians over rounds and the unfused/fused ratio (> 1: fusion helps).

  /usr/bin/python3 bench/fusion.py [--hidden 1024 --layers 4 --rounds 5]
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

from common import kiln_generate, kiln_run_ms, tool  # noqa: E402

import numpy as np  # noqa: E402

from kiln import bundled  # noqa: E402

BUILDS = {"fused": ["--fuse-epilogue"],
          "unfused": ["--no-fuse-qkv", "--no-fuse-gated-ffn"]}


def decode_ms(model, args):
    prompt = [i % 2000 + 1 for i in range(args.prompt)]
    return kiln_generate(model, prompt, args.tokens, args.threads)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--intermediate", type=int, default=2816)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"# LLaMA-shaped: hidden {args.hidden}, intermediate {args.intermediate}, "
          f"heads {args.heads}/{args.kv_heads} KV, {args.layers} layers, vocab "
          f"{args.vocab}; {args.threads} threads; medians of {args.rounds} rounds, "
          f"builds alternating")
    with tempfile.TemporaryDirectory() as workdir:
        folder = os.path.join(workdir, "hf")
        bundled.write_model(folder, "llama", hidden_size=args.hidden,
                            intermediate_size=args.intermediate,
                            num_attention_heads=args.heads,
                            num_key_value_heads=args.kv_heads,
                            num_hidden_layers=args.layers, vocab_size=args.vocab,
                            max_position_embeddings=args.prompt + args.tokens + 16)
        models = {}
        for name, flags in BUILDS.items():
            models[name] = os.path.join(workdir, name)
            start = time.perf_counter()
            subprocess.run([tool("kiln-compile"), folder, "-o", models[name],
                            "--quiet"] + flags, check=True)
            print(f"# compiled {name} in {time.perf_counter() - start:.1f} s",
                  flush=True)
        rng = np.random.default_rng(0)
        ids = rng.integers(0, args.vocab, (args.batch, args.seq)).astype(np.int64)
        inputs = {"input_ids": os.path.join(workdir, "ids.npy"),
                  "attention_mask": os.path.join(workdir, "mask.npy")}
        np.save(inputs["input_ids"], ids)
        np.save(inputs["attention_mask"], np.ones_like(ids))
        logits = {}
        for name, model in models.items():
            out = os.path.join(workdir, "out-" + name)
            kiln_run_ms(model, inputs, args.threads, 0, 1, out)
            logits[name] = np.load(os.path.join(out, "logits.npy"))
        diff = float(np.abs(logits["fused"] - logits["unfused"]).max())
        print(f"# max |fused - unfused| logits: {diff:.2e}")
        timings = {(name, kind): [] for name in models for kind in ("decode", "forward")}
        for _ in range(args.rounds):
            for name, model in models.items():
                timings[(name, "decode")].append(decode_ms(model, args))
                timings[(name, "forward")].append(kiln_run_ms(
                    model, inputs, args.threads, 1, args.iterations,
                    os.path.join(workdir, "out")))
        for kind, unit in (("decode", "ms/token"), ("forward", "ms")):
            fused = statistics.median(timings[("fused", kind)])
            unfused = statistics.median(timings[("unfused", kind)])
            label = (f"decode after {args.prompt}" if kind == "decode"
                     else f"forward {args.batch}x{args.seq}")
            print(f"{label:22} fused {fused:8.3f} {unit}   unfused {unfused:8.3f} "
                  f"{unit}   unfused/fused {unfused / fused:5.2f}x   (fused "
                  f"{min(timings[('fused', kind)]):.3f}-{max(timings[('fused', kind)]):.3f}, "
                  f"unfused {min(timings[('unfused', kind)]):.3f}-"
                  f"{max(timings[('unfused', kind)]):.3f})", flush=True)


if __name__ == "__main__":
    main()
