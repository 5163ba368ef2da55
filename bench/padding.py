#!/usr/bin/env python3
"""Padding removal on a BERT-base shaped encoder: Kiln packed vs Kiln padded
vs PyTorch padded (vs ONNX Runtime padded, when installed), in one run.

The encoder has BERT-base's shape (12 layers, hidden 768, 12 heads, FFN
3072, vocab 30522) and random weights (kiln.bundled). It is compiled twice:
with kiln-remove-padding (kiln-compile's default for encoders) and with
--no-remove-padding. Two batches, as the issue asks:

  uniform  8 sequences, lengths uniform in [16, 128] (fixed seed), padded
           to 128 (about 45% padding);
  skewed   one sequence of 512 and seven of 32, padded to 512.

Each engine runs the same padded input_ids / attention_mask /
token_type_ids; Kiln through kiln-run (median of --iterations after
--warmup), PyTorch (kiln.torch_models.BertModel, fp32, eval, no_grad) and
ONNX Runtime (torch.onnx.export at opset 14 with dynamic batch/seq, run by
onnxruntime-node with intraOpNumThreads = --threads) in this process's
environment as ../shared/BENCHMARKING.md sets them up. The packed output is
checked against PyTorch on the real tokens first. Printed: median ms per
batch and the ratios; "ideal" is padded tokens / real tokens, the speedup
packing could give if all work were token-wise.

  /usr/bin/python3 bench/padding.py [--threads 2] [--iterations 5]
      [--ort-dir DIR]   # holds node_modules/onnxruntime-node (BENCHMARKING.md)

Needs a build (scripts/build, or KILN_BUILD_DIR) and Debian's python3-torch.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings

from common import kiln_run_ms, tool, torch_median_ms  # noqa: E402  (sets the peers' environment)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kiln import bundled, torch_models  # noqa: E402

BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, vocab_size=30522, max_position_embeddings=512)

# Runs an ONNX model with onnxruntime-node: argv = ort package dir, model,
# JSON spec of the inputs (raw int64 files), warmup, iterations, threads.
ORT_SCRIPT = r"""
const ort = require(process.argv[2]);
const fs = require('fs');
(async () => {
  const [model, specPath] = [process.argv[3], process.argv[4]];
  const [warmup, iterations, threads] = process.argv.slice(5).map(Number);
  const spec = JSON.parse(fs.readFileSync(specPath));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const feeds = {};
  for (const [name, info] of Object.entries(spec.inputs)) {
    const buf = fs.readFileSync(info.path);
    const data = new BigInt64Array(buf.buffer, buf.byteOffset, buf.length / 8);
    feeds[name] = new ort.Tensor('int64', data, info.shape);
  }
  let out;
  for (let i = 0; i < warmup; ++i) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < iterations; ++i) {
    const start = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const first = out[session.outputNames[0]];
  fs.writeFileSync(spec.output, Buffer.from(first.data.buffer));
  console.log(JSON.stringify({times}));
})().catch(e => { console.error(e); process.exit(1); });
"""


def have_ort(ort_dir):
    """Whether `ort_dir`'s node_modules holds onnxruntime-node."""
    return bool(ort_dir) and os.path.isdir(
        os.path.join(ort_dir, "node_modules", "onnxruntime-node"))


def bert_base_folder(workdir, layers):
    """(folder, config) of the BERT-base shaped checkpoint (random weights,
    fixed seed) under `workdir`, written unless it is there already."""
    hf_dir = os.path.join(workdir, "bert-base")
    config = dict(BASE, num_hidden_layers=layers)
    if not os.path.exists(os.path.join(hf_dir, "config.json")):
        bundled.write_model(hf_dir, "bert", seed=0, pooler=False, **config)
    return hf_dir, config


def batches(seed=3):
    """(label, lengths, padded length). Seed 3 draws 547 real tokens, close to
    the 546 of ../shared/BENCHMARKING.md's ONNX Runtime baseline."""
    rng = np.random.default_rng(seed)
    uniform = [int(n) for n in rng.integers(16, 129, 8)]
    return [("uniform", uniform, 128), ("skewed", [512] + [32] * 7, 512)]


def make_inputs(lengths, seq, vocab, seed=1):
    rng = np.random.default_rng(seed)
    b = len(lengths)
    mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    return {"input_ids": rng.integers(0, vocab, (b, seq)).astype(np.int64),
            "attention_mask": mask,
            "token_type_ids": np.zeros((b, seq), dtype=np.int64)}


def time_kiln(model, inputs, workdir, args):
    """Median ms of kiln-run over the inputs; also returns the output."""
    out = os.path.join(workdir, "out")
    os.makedirs(out, exist_ok=True)
    paths = {}
    for name, array in inputs.items():
        paths[name] = os.path.join(workdir, name + ".npy")
        np.save(paths[name], array)
    ms = kiln_run_ms(model, paths, args.threads, args.warmup, args.iterations, out)
    return ms, np.load(os.path.join(out, "last_hidden_state.npy"))


def time_torch(module, inputs, args):
    """Median ms of the module over the inputs; also returns its output."""
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    last = {}

    def run():
        last["out"] = module(**tensors)
    ms = torch_median_ms(run, args.warmup, args.iterations)
    return ms, last["out"].numpy()


def export_onnx(module, inputs, path):
    names = list(inputs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on Python constants
        torch.onnx.export(
            module, tuple(torch.from_numpy(inputs[n]) for n in names), path,
            input_names=names, output_names=["last_hidden_state"], opset_version=14,
            dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                          "last_hidden_state": {0: "batch", 1: "seq"}})


def time_ort(onnx_path, inputs, workdir, args):
    spec = {"inputs": {}, "output": os.path.join(workdir, "ort_out.bin")}
    for name, array in inputs.items():
        path = os.path.join(workdir, name + ".bin")
        np.ascontiguousarray(array, dtype=np.int64).tofile(path)
        spec["inputs"][name] = {"path": path, "shape": list(array.shape)}
    spec_path = os.path.join(workdir, "ort_spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    script = os.path.join(workdir, "ort_run.js")
    with open(script, "w") as f:
        f.write(ORT_SCRIPT)
    package = os.path.join(args.ort_dir, "node_modules", "onnxruntime-node")
    run = subprocess.run(["node", script, package, onnx_path, spec_path,
                          str(args.warmup), str(args.iterations), str(args.threads)],
                         check=True, capture_output=True, text=True)
    times = json.loads(run.stdout.strip().splitlines()[-1])["times"]
    b, s = inputs["input_ids"].shape
    out = np.fromfile(spec["output"], dtype=np.float32).reshape(b, s, -1)
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--ort-dir", default=os.environ.get("KILN_ORT_DIR", ""),
                        help="directory whose node_modules holds onnxruntime-node")
    parser.add_argument("--workdir", help="keep the models here (default: a temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ort = have_ort(args.ort_dir)

    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-padding-")
    hf_dir, config = bert_base_folder(workdir, args.layers)
    models = {}
    for name, flag in (("packed", "--remove-padding"), ("padded", "--no-remove-padding")):
        models[name] = os.path.join(workdir, f"kiln-{name}")
        if not os.path.exists(os.path.join(models[name], "model.so")):
            start = time.monotonic()
            subprocess.run([tool("kiln-compile"), hf_dir, "-o", models[name], "--quiet",
                            flag], check=True)
            print(f"# compiled kiln {name} in {time.monotonic() - start:.0f} s")
    module = torch_models.from_folder(hf_dir).eval()

    print(f"# BERT-base shape: {args.layers} layers, hidden 768, 12 heads, FFN 3072, "
          f"random weights; fp32; {args.threads} threads; medians of "
          f"{args.iterations} runs after {args.warmup} warmup")
    print(f"# PyTorch {torch.__version__} (OPENBLAS_CORETYPE="
          f"{os.environ['OPENBLAS_CORETYPE']}, OMP_WAIT_POLICY=PASSIVE); "
          + ("ONNX Runtime: onnxruntime-node" if ort else
             "ONNX Runtime: not found (give --ort-dir; see ../shared/BENCHMARKING.md)"))
    onnx_path = os.path.join(workdir, "bert-base.onnx")
    for label, lengths, seq in batches():
        inputs = make_inputs(lengths, seq, config["vocab_size"])
        real = int(sum(lengths))
        padded_tokens = len(lengths) * seq
        ideal = padded_tokens / real
        run_dir = os.path.join(workdir, label)
        os.makedirs(run_dir, exist_ok=True)
        packed_ms, packed_out = time_kiln(models["packed"], inputs, run_dir, args)
        padded_ms, _ = time_kiln(models["padded"], inputs, run_dir, args)
        torch_ms, torch_out = time_torch(module, inputs, args)
        mask = inputs["attention_mask"] != 0
        err = float(np.abs(packed_out[mask] - torch_out[mask]).max())
        ort_ms = None
        if ort:
            if not os.path.exists(onnx_path):
                export_onnx(module, inputs, onnx_path)
            ort_ms, ort_out = time_ort(onnx_path, inputs, run_dir, args)
            err = max(err, float(np.abs(packed_out[mask] - ort_out[mask]).max()))
        print(f"\n{label}: batch {len(lengths)} x {seq}, lengths {lengths}, "
              f"{real} real of {padded_tokens} tokens ({100 * (1 - real / padded_tokens):.0f}% "
              f"padding); max |packed - peers| on real tokens {err:.1e}")
        print(f"  kiln packed    {packed_ms:8.1f} ms")
        print(f"  kiln padded    {padded_ms:8.1f} ms   packed speedup "
              f"{padded_ms / packed_ms:.2f}x (ideal {ideal:.2f}x, "
              f"{padded_ms / packed_ms / ideal:.2f} of it)")
        print(f"  pytorch padded {torch_ms:8.1f} ms   packed is {torch_ms / packed_ms:.2f}x faster")
        if ort_ms is not None:
            print(f"  onnxrt padded  {ort_ms:8.1f} ms   packed is {ort_ms / packed_ms:.2f}x faster")


if __name__ == "__main__":
    main()
