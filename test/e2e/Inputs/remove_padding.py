"""kiln-remove-padding end to end on the bundled Hugging Face checkpoint of
every family, against the float64 PyTorch references of kiln.reference.

    remove_padding.py --workdir DIR [--compiler PATH] [--runner PATH]
                      [--families bert,llama,gpt2,mamba]

Per family: write the checkpoint with kiln.bundled (fixed seed), compile it
with --remove-padding (packed) and, for BERT and Mamba, also with
--no-remove-padding (padded: the decoders' padded forward is what
llama.test and gpt2.test compile by default); run `forward` with kiln-run on
batches whose lengths are [1, 5, 128, 77] of 128 (right and left padding),
all equal, a batch of one (left padded, and unpadded) and one with an empty
row; compare the real tokens with reference.forward on the same padded
inputs (BERT's last_hidden_state, the others' logits) and require exact
zeros at padded positions of the packed outputs. The packed BERT must also
reject masks that are neither right- nor left-padded with the pass's
message, and kiln-compile must refuse both flags at once.

Tolerance: max|kiln - ref| <= 1e-3 (absolute, fp32 vs float64) on the real
tokens. Prints one line per comparison with the measured max abs error and
exits 1 when any fails.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from kiln import bundled, reference, testing

TOL = testing.Tolerance(rtol=0.0, atol=1e-3)
SEEDS = {"bert": 61, "llama": 62, "gpt2": 63, "mamba": 64}
# (label, lengths, padded length, side)
CASES = [
    ("lengths [1, 5, 128, 77] right", [1, 5, 128, 77], 128, "right"),
    ("lengths [1, 5, 128, 77] left", [1, 5, 128, 77], 128, "left"),
    ("all equal [9, 9, 9]", [9, 9, 9], 9, "right"),
    ("batch of one [33] of 40 left", [33], 40, "left"),
    ("batch of one [17] unpadded", [17], 17, "right"),
    ("empty row [0, 7] right", [0, 7], 7, "right"),
]
BAD_MASKS = {
    "a hole": [[1, 0, 1, 0], [1, 1, 1, 1]],
    "right and left rows": [[1, 1, 0, 0], [0, 0, 1, 1]],
}
MESSAGE = "every row of 'attention_mask' must be right-padded"


class Harness:
    def __init__(self, workdir):
        self.workdir = workdir
        self.failures = 0

    def record(self, ok, line):
        self.failures += not ok
        print(line, flush=True)

    def compile(self, hf_dir, name, flag):
        out = os.path.join(self.workdir, name)
        command = [testing.find_tool("kiln-compile"), hf_dir, "-o", out, "--quiet", flag]
        start = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            self.record(False, f"FAIL: {' '.join(command)} exited with "
                               f"{result.returncode}:\n{result.stdout}{result.stderr}")
            return None
        print(f"[{name}] compiled with {flag} in {time.monotonic() - start:.1f} s",
              flush=True)
        return out

    def inputs(self, family, config, rng, lengths, seq, side):
        b = len(lengths)
        mask = np.zeros((b, seq), dtype=np.int64)
        for row, n in enumerate(lengths):
            if side == "right":
                mask[row, :n] = 1
            else:
                mask[row, seq - n:] = 1
        inputs = {"input_ids": rng.integers(0, config["vocab_size"], (b, seq)).astype(np.int64),
                  "attention_mask": mask}
        if family == "bert":
            inputs["token_type_ids"] = (rng.integers(0, 2, (b, seq)) * mask).astype(np.int64)
        return inputs

    def check(self, family, name, model, config, state):
        rng = np.random.default_rng(SEEDS[family] + 1000)
        out_name = "last_hidden_state" if family == "bert" else "logits"
        packed = name.endswith("packed")
        for label, lengths, seq, side in CASES:
            inputs = self.inputs(family, config, rng, lengths, seq, side)
            ref = reference.forward(config, state, **inputs).numpy()
            got = testing.run_model(model, inputs, os.path.join(self.workdir, "run"))[out_name]
            real = inputs["attention_mask"] != 0
            ok, line = testing.compare(f"[{name}] {label}: real tokens", got[real], ref[real],
                                       TOL)
            self.record(ok, line)
            if packed and (~real).any():
                nonzero = int(np.count_nonzero(got[~real]))
                self.record(nonzero == 0, f"[{name}] {label}: padded positions: {nonzero} "
                                          f"non-zero values {'ok' if nonzero == 0 else 'FAIL'}")

    def check_bad_masks(self, model, config):
        for label, rows in BAD_MASKS.items():
            mask = np.array(rows, dtype=np.int64)
            inputs = {"input_ids": np.ones_like(mask), "attention_mask": mask,
                      "token_type_ids": np.zeros_like(mask)}
            try:
                testing.run_model(model, inputs, os.path.join(self.workdir, "bad"))
                self.record(False, f"[bert_packed] mask with {label}: ran, expected an "
                                   f"error FAIL")
            except testing.ToolError as error:
                ok = MESSAGE in str(error)
                self.record(ok, f"[bert_packed] mask with {label}: rejected "
                                f"({'with' if ok else 'without'} the pass's message) "
                                f"{'ok' if ok else 'FAIL: ' + str(error)}")

    def check_flags(self, hf_dir):
        command = [testing.find_tool("kiln-compile"), hf_dir, "-o",
                   os.path.join(self.workdir, "never"), "--remove-padding",
                   "--no-remove-padding"]
        result = subprocess.run(command, capture_output=True, text=True)
        ok = result.returncode != 0 and "contradict" in result.stderr
        self.record(ok, f"kiln-compile --remove-padding --no-remove-padding: "
                        f"{'refused' if ok else 'not refused'} {'ok' if ok else 'FAIL'}")

    def run(self, families):
        for family in families:
            hf_dir = os.path.join(self.workdir, f"hf-{family}")
            bundled.write_model(hf_dir, family, seed=SEEDS[family])
            config, state = reference.load_hf_folder(hf_dir)
            variants = [("packed", "--remove-padding")]
            if family in ("bert", "mamba"):
                variants.append(("padded", "--no-remove-padding"))
            for suffix, flag in variants:
                name = f"{family}_{suffix}"
                model = self.compile(hf_dir, name, flag)
                if not model:
                    continue
                try:
                    self.check(family, name, model, config, state)
                    if name == "bert_packed":
                        self.check_bad_masks(model, config)
                        self.check_flags(hf_dir)
                except testing.ToolError as error:
                    self.record(False, f"[{name}] FAIL: {error}")
        print(f"{self.failures} failure(s)")
        return 1 if self.failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--compiler")
    parser.add_argument("--runner")
    parser.add_argument("--families", default="bert,llama,gpt2,mamba")
    args = parser.parse_args()
    if args.compiler:
        testing.TOOLS["kiln-compile"] = args.compiler
    if args.runner:
        testing.TOOLS["kiln-run"] = args.runner
    os.makedirs(args.workdir, exist_ok=True)
    print(f"tolerance: max abs err <= {TOL.atol:g} on real tokens (fp32 vs float64)")
    return Harness(args.workdir).run(args.families.split(","))


if __name__ == "__main__":
    sys.exit(main())
