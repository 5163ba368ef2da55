"""Half-precision checkpoints: kiln-compile widens F16/BF16 tensors to F32.

    half_precision.py FAMILY F16|BF16 --workdir DIR

Writes a kiln.bundled FAMILY folder whose floating-point tensors are stored
as F16 or BF16, compiles it, runs forward on a right-padded batch and
compares with python/kiln/reference.py evaluated (in float64) on the same
rounded weights. Exits non-zero when max |kiln - reference| > 1e-3.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

from kiln import bundled, reference, safetensors_io, testing

TOLERANCE = 1e-3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("family", choices=reference.FAMILIES)
    parser.add_argument("dtype", choices=("F16", "BF16"))
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()

    folder = os.path.join(args.workdir, "hf")
    os.makedirs(folder, exist_ok=True)
    config, tensors = bundled.make_model(args.family, seed=5)
    bundled.write_folder(folder, config, {})  # config.json only
    safetensors_io.save(tensors, os.path.join(folder, "model.safetensors"),
                        float_dtype=args.dtype)
    header = open(os.path.join(folder, "model.safetensors"), "rb").read(4096)
    assert f'"dtype":"{args.dtype}"'.encode() in header, "not written as " + args.dtype

    out = os.path.join(args.workdir, "model")
    subprocess.run([testing.find_tool("kiln-compile"), folder, "-o", out,
                    "--quiet"], check=True)

    rng = np.random.default_rng(3)
    batch, seq = 2, 19
    ids = rng.integers(0, config["vocab_size"], (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), np.int64)
    mask[1, 12:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if args.family == "bert":
        inputs["token_type_ids"] = (ids % 2).astype(np.int64)
    outputs = testing.run_model(out, inputs, args.workdir)
    got = next(iter(outputs.values()))

    rounded_config, rounded_state = reference.load_hf_folder(folder)
    want = np.asarray(reference.forward(rounded_config, rounded_state, **inputs))
    worst = 0.0
    for b in range(batch):
        n = int(mask[b].sum())
        worst = max(worst, float(np.abs(got[b, :n] - want[b, :n]).max()))
    ok = worst <= TOLERANCE
    print(f"{args.family} {args.dtype}: max abs error {worst:.3g} "
          f"(tolerance {TOLERANCE}) {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
