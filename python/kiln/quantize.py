"""Numpy reference of Kiln's weight-only quantization (kiln-quantize), and
an accuracy report of quantized compiled models against float64 references.

The reference is written from the scheme's definition (`#kiln.quant` in
docs/Quantization.md), not from Kiln's C++: f32 arithmetic, round half to
even. Tests use it to check the integers and scales kiln-compile writes into
model.weights.safetensors bit for bit, and to build the dequantized weights
a quantized model must match at float tolerance.

    python3 -m kiln.quantize report [--families bert,llama,gpt2,mamba]
        [--schemes int8,int8:asym,int4:g32,int4:g32:asym] [--workdir DIR]

prints, per family and scheme, the cosine similarity and max abs error of
the compiled quantized model's outputs against the float64 fp32 reference,
and for decoders the greedy-generation agreement over 16 tokens.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from . import safetensors_io


def quantize(w, bits, group, symmetric):
    """(values, scales, zero_points or None) of the [K, N] weight `w`:
    values [K, N] int8 (8 bits) or [K / 2, N] int8 bytes of two nibbles
    (row 2i low, row 2i + 1 high); scales and zero points [K / group, N]
    float32."""
    w = np.asarray(w, dtype=np.float32)
    k, n = w.shape
    g = w.reshape(k // group, group, n)
    f = np.float32
    low = np.minimum(g.min(axis=1), f(0))
    high = np.maximum(g.max(axis=1), f(0))
    if symmetric:
        qmax = f(127 if bits == 8 else 7)
        qmin = -qmax
        scale = np.maximum(-low, high) / qmax
    else:
        qmin, qmax = (f(-128), f(127)) if bits == 8 else (f(0), f(15))
        scale = (high - low) / (qmax - qmin)
    scale = np.where((scale == 0) | ~np.isfinite(scale), f(1), scale).astype(np.float32)
    zero = None
    if not symmetric:
        zero = np.clip(np.rint(qmin - low / scale), qmin, qmax).astype(np.float32)
    q = np.rint(g / scale[:, None, :])
    if zero is not None:
        q = q + zero[:, None, :]
    q = np.clip(q, qmin, qmax).reshape(k, n)
    if bits == 8:
        return q.astype(np.int8), scale, zero
    u = (q + (8 if symmetric else 0)).astype(np.uint8)
    packed = u[0::2] | (u[1::2] << 4)
    return packed.view(np.int8), scale, zero


def unpack(values, bits):
    """The integer codes [K, N] of stored values (int4: unsigned nibbles)."""
    if bits == 8:
        return values.astype(np.int64)
    u = values.view(np.uint8)
    codes = np.empty((2 * u.shape[0], u.shape[1]), dtype=np.int64)
    codes[0::2] = u & 15
    codes[1::2] = u >> 4
    return codes


def dequantize(values, scales, zeros, bits, group, symmetric):
    """The float64 [K, N] weight the stored tensors encode."""
    codes = unpack(values, bits).astype(np.float64)
    k = codes.shape[0]
    if zeros is None:
        zeros = np.full(scales.shape, 8.0 if bits == 4 else 0.0)
    z = np.repeat(np.asarray(zeros, np.float64), group, axis=0)[:k]
    s = np.repeat(np.asarray(scales, np.float64), group, axis=0)[:k]
    return (codes - z) * s


def _unpanel(array, panels):
    """[ceil(C / p), R, p] panels back to the [R, ceil(C / p) * p] matrix
    (a partial last panel keeps its zero padding)."""
    if not panels:
        return array
    nb, rows, p = array.shape
    return array.transpose(1, 0, 2).reshape(rows, nb * p)


def read_quantized(model_dir):
    """{key: {sources, bits, group, symmetric, transposed, values, scales,
    zero_points}} of every quantized weight of a compiled model, read from
    model.json and model.weights.safetensors, panels undone. `sources` are
    the checkpoint tensors the weight stacks along their first dim (one
    unless kiln-fuse-qkv / kiln-fuse-gated-ffn stacked several), `key`
    their names joined by '+'."""
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    stored = safetensors_io.load(os.path.join(model_dir, "model.weights.safetensors"))
    result = {}
    for entry in manifest["weights"]["tensors"]:
        quant = entry.get("quant")
        if not quant:
            continue
        sources = [entry["source"]] + entry.get("concat", [])
        item = result.setdefault("+".join(sources), {
            "sources": sources, "bits": quant["bits"], "group": quant["group"],
            "symmetric": quant["symmetric"], "transposed": entry["transposed"],
            "zero_points": None})
        item[quant["part"]] = _unpanel(stored[entry["name"]], entry["panels"])
    return result


def _stacked(checkpoint, sources):
    """The float32 checkpoint tensors `sources` stacked along dim 0."""
    return np.concatenate([np.asarray(checkpoint[s], dtype=np.float32)
                           for s in sources], axis=0)


def check_weights(model_dir, checkpoint):
    """Compares every quantized weight of `model_dir` with this module's
    quantization of the checkpoint tensor (dict name -> array): integer
    values and the bit patterns of scales and zero points must be equal.
    Returns (number of checkpoint tensors checked, list of failure lines)."""
    failures = []
    found = read_quantized(model_dir)
    for source, item in sorted(found.items()):
        w = _stacked(checkpoint, item["sources"])
        if item["transposed"]:
            w = w.T
        values, scales, zeros = quantize(w, item["bits"], item["group"], item["symmetric"])
        label = f"{source} (int{item['bits']} group {item['group']} " \
                f"{'sym' if item['symmetric'] else 'asym'})"
        # A partial last panel is padded with zeros past the last column.
        for part in ("values", "scales", "zero_points"):
            stored = item[part]
            if stored is not None and stored.shape[1] > w.shape[1]:
                if np.any(stored[:, w.shape[1]:] != 0):
                    failures.append(f"{label}: {part} padding past column "
                                    f"{w.shape[1]} is not zero")
                item[part] = stored[:, :w.shape[1]]
        if not np.array_equal(values, item["values"]):
            bad = int((values != item["values"]).sum())
            failures.append(f"{label}: {bad} of {values.size} values differ")
        if scales.view(np.uint32).tolist() != item["scales"].view(np.uint32).tolist():
            failures.append(f"{label}: scales differ (max |diff| "
                            f"{np.abs(scales - item['scales']).max():.3g})")
        if (zeros is None) != (item["zero_points"] is None) or (
                zeros is not None and not np.array_equal(zeros, item["zero_points"])):
            failures.append(f"{label}: zero points differ")
    return sum(len(item["sources"]) for item in found.values()), failures


def dequantized_state(model_dir, checkpoint):
    """The checkpoint with every weight that `model_dir` quantized replaced
    by the float64 dequantization of this module's quantization of it (in
    the checkpoint's own layout)."""
    state = dict(checkpoint)
    for item in read_quantized(model_dir).values():
        w = _stacked(checkpoint, item["sources"])
        if item["transposed"]:
            w = w.T
        values, scales, zeros = quantize(w, item["bits"], item["group"], item["symmetric"])
        d = dequantize(values, scales, zeros, item["bits"], item["group"], item["symmetric"])
        d = d.T if item["transposed"] else d
        row = 0
        for source in item["sources"]:
            rows = np.shape(checkpoint[source])[0]
            state[source] = d[row:row + rows]
            row += rows
    return state


def cosine(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- accuracy report ------------------------------------------------------------------

DECODERS = ("llama", "gpt2", "mamba")


def _report_family(family, schemes, workdir, out):
    import torch  # noqa: F401  (kiln.reference needs it)
    from . import bundled, reference, runtime, testing
    hf = os.path.join(workdir, family, "hf")
    bundled.write_model(hf, family, seed=0)
    config, state = reference.load_hf_folder(hf)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, config["vocab_size"], (2, 17)).astype(np.int64)
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if family == "bert":
        inputs["token_type_ids"] = np.zeros_like(ids)
    ref = reference.forward(config, state, **inputs).numpy()
    name = "last_hidden_state" if family == "bert" else "logits"
    prompt = [300, 2, 77]
    ref_tokens = reference.greedy_generate(config, state, prompt, 16)[0] \
        if family in DECODERS else None
    for scheme in schemes:
        model = os.path.join(workdir, family, scheme.replace(":", "_"))
        command = [testing.find_tool("kiln-compile"), hf, "-o", model, "--quiet",
                   "--quantize=" + scheme]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if result.returncode != 0:
            print(f"{family:6s} {scheme:14s} compile failed: "
                  f"{result.stderr.strip().splitlines()[-1]}", file=out)
            continue
        size = os.path.getsize(os.path.join(model, "model.weights.safetensors"))
        with runtime.load(model) as m:
            got = m.forward(**inputs)[name]
        line = (f"{family:6s} {scheme:14s} weights {size / 1e6:6.2f} MB  cosine "
                f"{cosine(got, ref):.6f}  max abs err {np.abs(got - ref).max():.4f}")
        if ref_tokens is not None:
            run = subprocess.run([testing.find_tool("kiln-run"), model, "--generate", "16",
                                  "--prompt-ids", ",".join(map(str, prompt))],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            tokens = [int(t) for t in run.stdout.split()] if run.returncode == 0 else []
            agree = sum(a == b for a, b in zip(tokens, ref_tokens))
            line += f"  greedy agreement {agree}/16"
        print(line, file=out)


def report(families, schemes, workdir, out=sys.stdout):
    print("accuracy vs the float64 fp32 reference (python/kiln/reference.py), bundled "
          "models, batch 2 x seq 17; greedy: 16 tokens after [300, 2, 77]", file=out)
    for family in families:
        _report_family(family, schemes, workdir, out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m kiln.quantize",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["report"])
    parser.add_argument("--families", default="bert,llama,gpt2,mamba")
    parser.add_argument("--schemes", default="int8,int8:asym,int4:g32,int4:g32:asym")
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-quantize-")
    report(args.families.split(","), args.schemes.split(","), workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
