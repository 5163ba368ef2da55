#!/usr/bin/env python3
"""BERT-base forward, every token real: Kiln vs ONNX Runtime vs PyTorch, in
one run.

The encoder has BERT-base's shape (12 layers, hidden 768, 12 heads, FFN
3072, vocab 30522) and random weights (kiln.bundled), compiled with
kiln-compile's defaults. Batches 1 x 128 and 8 x 128 with every token real
(attention_mask all ones), fp32. Kiln runs through kiln-run, PyTorch is
kiln.torch_models.BertModel (eval, no_grad), ONNX Runtime runs the model
torch.onnx.export writes with onnxruntime-node (intraOpNumThreads =
--threads), each set up as ../shared/BENCHMARKING.md asks (bench/padding.py
holds the shared helpers). Kiln's output is checked against both peers.
Printed: median ms per batch, achieved GFLOP/s (2 x parameters x tokens
plus attention's 4 x seq x hidden per token and layer) and the ratios.

  /usr/bin/python3 bench/bert.py --ort-dir DIR [--threads 2 --iterations 10]
"""

import argparse
import os
import subprocess
import tempfile
import time

from padding import (bert_base_folder, export_onnx, have_ort, make_inputs,  # noqa: E402
                     time_kiln, time_ort, time_torch)
from common import tool  # noqa: E402

import torch  # noqa: E402

from kiln import torch_models  # noqa: E402


def gflop(config, batch, seq):
    h, inter, layers = config["hidden_size"], config["intermediate_size"], \
        config["num_hidden_layers"]
    per_token = layers * (2 * (4 * h * h + 2 * h * inter) + 4 * seq * h)
    return batch * seq * per_token / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--batches", default="1x128,8x128")
    parser.add_argument("--compile-flags", default="",
                        help="extra kiln-compile flags, space separated")
    parser.add_argument("--ort-dir", default=os.environ.get("KILN_ORT_DIR", ""),
                        help="directory whose node_modules holds onnxruntime-node")
    parser.add_argument("--workdir", help="keep the models here (default: a temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ort = have_ort(args.ort_dir)

    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-bert-")
    hf_dir, config = bert_base_folder(workdir, args.layers)
    model = os.path.join(workdir, "kiln")
    if not os.path.exists(os.path.join(model, "model.so")):
        start = time.monotonic()
        subprocess.run([tool("kiln-compile"), hf_dir, "-o", model, "--quiet"] +
                       args.compile_flags.split(), check=True)
        print(f"# compiled kiln in {time.monotonic() - start:.0f} s")
    module = torch_models.from_folder(hf_dir).eval()
    print(f"# BERT-base shape: {args.layers} layers, random weights, fp32, every token "
          f"real; {args.threads} threads; medians of {args.iterations} runs after "
          f"{args.warmup} warmup; PyTorch {torch.__version__} (OPENBLAS_CORETYPE="
          f"{os.environ['OPENBLAS_CORETYPE']}); "
          + ("ONNX Runtime: onnxruntime-node" if ort else
             "ONNX Runtime: not found (give --ort-dir)"))
    onnx_path = os.path.join(workdir, "bert-base.onnx")
    for shape in args.batches.split(","):
        batch, seq = (int(v) for v in shape.split("x"))
        inputs = make_inputs([seq] * batch, seq, config["vocab_size"])
        run_dir = os.path.join(workdir, shape)
        os.makedirs(run_dir, exist_ok=True)
        kiln_ms, kiln_out = time_kiln(model, inputs, run_dir, args)
        torch_ms, torch_out = time_torch(module, inputs, args)
        err = float(abs(kiln_out - torch_out).max())
        line = f"{shape:6}  kiln {kiln_ms:8.1f} ms ({gflop(config, batch, seq) / kiln_ms * 1e3:5.1f} GFLOP/s)"
        line += f"   torch {torch_ms:8.1f} ms ({torch_ms / kiln_ms:.2f}x)"
        if ort:
            if not os.path.exists(onnx_path):
                export_onnx(module, inputs, onnx_path)
            ort_ms, ort_out = time_ort(onnx_path, inputs, run_dir, args)
            err = max(err, float(abs(kiln_out - ort_out).max()))
            line += f"   onnxrt {ort_ms:8.1f} ms (ort/kiln {ort_ms / kiln_ms:.2f}x)"
        print(line + f"   max |kiln - peers| {err:.1e}", flush=True)


if __name__ == "__main__":
    main()
