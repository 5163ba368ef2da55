#!/usr/bin/env python3
"""GPT-2 decode step with a long KV cache: Kiln vs PyTorch, in one run.

Writes a GPT-2-small shaped Hugging Face checkpoint (bundled.py's generator:
n_embd 768, 12 layers, 12 heads, vocab 50257, n_positions 1024; random
weights), compiles it with kiln-compile, and times greedy decoding of N
tokens after a P-token prompt (default 512: the cache holds 512..512+N
positions):

  kiln   kiln-run --generate N --prompt-ids ...: its median ms/token;
  torch  the same model's weights (kiln.torch_models) run one token at a
         time with a preallocated KV cache written in place, eager fp32,
         no autograd, as many threads as Kiln: median ms/token.

Both must pick the same greedy tokens. Prints medians over rounds, the
ratio, and the weight bytes streamed per token in GB/s.

  /usr/bin/python3 bench/gpt2_decode.py [--layers 12 --prompt 512 --tokens 32]
"""

import argparse
import math
import os
import statistics
import subprocess
import tempfile
import time

from common import kiln_generate, tool  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import bundled, torch_models  # noqa: E402


class TorchDecoder:
    """Greedy GPT-2 decoding with a [layers, 2, heads, capacity, dim] cache,
    on the weights of a kiln.torch_models.GPT2LMHeadModel."""

    def __init__(self, model, capacity):
        self.m = model
        c = model.config
        self.heads, self.hidden = c["n_head"], c["n_embd"]
        self.dim = self.hidden // self.heads
        layers = len(model.transformer.h)
        self.cache = torch.zeros(layers, 2, self.heads, capacity, self.dim)
        self.length = 0

    def _layer(self, i, block, h, start, count):
        x = block.ln_1(h)
        qkv = torch.addmm(block.attn.c_attn.bias, x, block.attn.c_attn.weight)
        q, k, v = (t.reshape(count, self.heads, self.dim).transpose(0, 1)
                   for t in qkv.split(self.hidden, -1))
        self.cache[i, 0, :, start:start + count] = k
        self.cache[i, 1, :, start:start + count] = v
        keys = self.cache[i, 0, :, :start + count]
        values = self.cache[i, 1, :, :start + count]
        scores = torch.matmul(q, keys.transpose(1, 2)) / math.sqrt(self.dim)
        if count > 1:
            causal = torch.ones(count, start + count, dtype=torch.bool).tril(start)
            scores = scores.masked_fill(~causal, float("-inf"))
        attn = torch.matmul(torch.softmax(scores, -1), values)
        attn = attn.transpose(0, 1).reshape(count, self.hidden)
        h = h + torch.addmm(block.attn.c_proj.bias, attn, block.attn.c_proj.weight)
        y = block.act(torch.addmm(block.mlp.c_fc.bias, block.ln_2(h), block.mlp.c_fc.weight))
        return h + torch.addmm(block.mlp.c_proj.bias, y, block.mlp.c_proj.weight)

    def step(self, ids):
        """Logits of the last of `ids` (appended to the cache)."""
        t = self.m.transformer
        start, count = self.length, len(ids)
        ids = torch.tensor(ids)
        h = t.wte(ids) + t.wpe(torch.arange(start, start + count))
        for i, block in enumerate(t.h):
            h = self._layer(i, block, h, start, count)
        self.length += count
        return torch.nn.functional.linear(t.ln_f(h[-1:]), self.m.lm_head.weight)[0]

    def generate(self, prompt, tokens):
        """(ids, per-token decode times in ms)."""
        with torch.no_grad():
            logits = self.step(prompt)
            ids, times = [int(logits.argmax())], []
            for _ in range(tokens - 1):
                start = time.perf_counter()
                logits = self.step([ids[-1]])
                times.append((time.perf_counter() - start) * 1e3)
                ids.append(int(logits.argmax()))
        return ids, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compile-flags", default="",
                        help="extra kiln-compile flags, space separated")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# GPT-2 shaped: 768 hidden, {args.layers} layers, vocab {args.vocab}; "
          f"prompt {args.prompt}, {args.tokens} tokens; {args.threads} threads; "
          f"PyTorch {torch.__version__} with OPENBLAS_CORETYPE="
          f"{os.environ['OPENBLAS_CORETYPE']}; medians of {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as workdir:
        folder = os.path.join(workdir, "hf")
        config, _ = bundled.write_model(
            folder, "gpt2", n_embd=768, n_layer=args.layers, n_head=12,
            vocab_size=args.vocab, n_positions=1024, n_ctx=1024)
        model = os.path.join(workdir, "model")
        start = time.perf_counter()
        subprocess.run([tool("kiln-compile"), folder, "-o", model, "--quiet"] +
                       args.compile_flags.split(), check=True)
        print(f"# compiled in {time.perf_counter() - start:.1f} s", flush=True)
        torch_model = torch_models.from_folder(folder).eval()
        rng = np.random.default_rng(0)
        prompt = [int(i) for i in rng.integers(0, args.vocab, args.prompt)]
        kiln_ms, torch_ms = [], []
        for _ in range(args.rounds):
            kiln_ids, ms = kiln_generate(model, prompt, args.tokens, args.threads)
            kiln_ms.append(ms)
            decoder = TorchDecoder(torch_model, args.prompt + args.tokens)
            torch_ids, times = decoder.generate(prompt, args.tokens)
            torch_ms.append(statistics.median(times))
        same = sum(a == b for a, b in zip(kiln_ids, torch_ids))
        weights = sum(p.numel() for n, p in torch_model.named_parameters()
                      if "wpe" not in n) * 4
        k, t = statistics.median(kiln_ms), statistics.median(torch_ms)
        print(f"decode at cache {args.prompt}: kiln {k:.3f} ms/token "
              f"({min(kiln_ms):.3f}-{max(kiln_ms):.3f}; "
              f"{weights / k / 1e6:.1f} GB/s of weights)   torch {t:.3f} ms/token "
              f"({min(torch_ms):.3f}-{max(torch_ms):.3f})   torch/kiln {t / k:.2f}x   "
              f"greedy tokens equal: {same}/{args.tokens}")


if __name__ == "__main__":
    main()
