#!/usr/bin/env python3
"""Kiln vs PyTorch on the bundled Hugging Face models, in one run.

For each family (python/kiln/bundled.py: BERT, LLaMA, GPT-2, Mamba; hidden
128, 2 layers, vocab 1000) this writes the checkpoint, times kiln-compile on
the folder, checks the compiled forward once against the float32 PyTorch
module of the same weights (kiln.torch_models, Hugging Face's module
structure), then times both at batch x seq and prints medians and the
ratio; for the decoders and Mamba it also reports Kiln's greedy decode
speed (kiln-run --generate). PyTorch is set up as in bench/layers.py.

  /usr/bin/python3 bench/models.py [--families bert,llama] [--batch 1 --seq 128]

Needs a build (scripts/build) and Debian's python3-torch.
"""

import argparse
import inspect
import os
import re
import statistics
import subprocess
import tempfile
import time

from common import kiln_env, kiln_generate, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import bundled, torch_models  # noqa: E402

FAMILIES = ("bert", "llama", "gpt2", "mamba")


def entry_inputs(model_dir):
    """Input names of the compiled model's forward (kiln-run --list)."""
    listing = subprocess.run([tool("kiln-run"), model_dir, "--list"], check=True,
                             capture_output=True, text=True).stdout
    forward = listing.split("entry 'forward'")[1].split("entry '")[0]
    return re.findall(r"input\s+(\w+):", forward)


def make_inputs(names, config, batch, seq, rng):
    """input_ids random in [0, vocab), attention_mask ones, token_type_ids
    zeros: whichever of them `names` lists."""
    ids = rng.integers(0, config["vocab_size"], (batch, seq)).astype(np.int64)
    known = {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "token_type_ids": np.zeros_like(ids)}
    return {name: known[name] for name in names}


def time_torch(module, inputs, warmup, iterations):
    args = {k: torch.from_numpy(v) for k, v in inputs.items()}
    return torch_median_ms(lambda: module(**args), warmup, iterations)


def bench(family, args, workdir):
    folder = os.path.join(workdir, family, "hf")
    config, _ = bundled.write_model(folder, family)
    out = os.path.join(workdir, family, "model")
    start = time.perf_counter()
    subprocess.run([tool("kiln-compile"), folder, "-o", out, "--quiet"],
                   check=True)
    compile_s = time.perf_counter() - start

    inputs = make_inputs(entry_inputs(out), config, args.batch, args.seq,
                         np.random.default_rng(1))
    command = [tool("kiln-run"), out, "--threads", str(args.threads),
               "--output-dir", os.path.join(workdir, family, "out")]
    for name, array in inputs.items():
        path = os.path.join(workdir, family, f"{name}.npy")
        np.save(path, array)
        command += ["--input", f"{name}={path}"]
    subprocess.run(command, check=True, capture_output=True, env=kiln_env)
    output = "last_hidden_state" if family == "bert" else "logits"
    got = np.load(os.path.join(workdir, family, "out", output + ".npy"))

    module = torch_models.from_folder(folder).eval()
    accepted = inspect.signature(module.forward).parameters
    torch_inputs = {k: v for k, v in inputs.items() if k in accepted}
    with torch.no_grad():
        ref = module(**{k: torch.from_numpy(v) for k, v in torch_inputs.items()})
    ref = ref.numpy()
    err = float(np.abs(got - ref).max())

    kiln_ms, torch_ms = [], []
    for _ in range(args.repeats):
        run = subprocess.run(command + ["--warmup", "2", "--iterations",
                                        str(args.iterations)],
                             check=True, capture_output=True, text=True,
                             env=kiln_env)
        kiln_ms.append(float(re.search(r"median ([0-9.]+) ms", run.stdout).group(1)))
        torch_ms.append(time_torch(module, torch_inputs, 2, args.iterations))
    k, t = statistics.median(kiln_ms), statistics.median(torch_ms)
    line = (f"{family:6} {args.batch:>2}x{args.seq:<4} compile {compile_s:5.2f} s"
            f"   kiln {k:8.2f} ms   torch {t:8.2f} ms   torch/kiln {t / k:5.2f}x"
            f"   max abs err {err:.1e}")
    if family != "bert":
        _, step_ms = kiln_generate(out, [1, 2, 3], 64, args.threads)
        if step_ms is not None:
            line += f"   decode {step_ms:.3f} ms/token"
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3,
                        help="medians of this many timing rounds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {args.threads} threads; PyTorch {torch.__version__} with "
          f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}; medians of "
          f"{args.repeats} rounds x {args.iterations} iterations; bundled "
          f"models (hidden 128, 2 layers, vocab 1000)")
    with tempfile.TemporaryDirectory() as workdir:
        for family in args.families.split(","):
            bench(family, args, workdir)


if __name__ == "__main__":
    main()
