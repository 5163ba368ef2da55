"""Hugging Face import tests: a bundled checkpoint, compiled once, against the
float64 references of kiln.reference.

    hf.py VARIANT --workdir DIR [--compiler PATH] [--runner PATH] [--dry-run]
          [--padded hf|zero|skip]

For the variant: write the HF folder with kiln.bundled (fixed seed), read it
back for the reference, `kiln-compile DIR -o OUT --quiet`, then
  forward   kiln-run on .npy inputs at batch >= 2 with right padding of
            unequal lengths (seq 1, 17, 128): BERT's last_hidden_state and
            the decoders' logits are compared on the real tokens and, as a
            separate line, on the padded positions (Hugging Face defines those
            too: a padded query sees the real keys before it; --padded zero
            expects zeros there instead, --padded skip ignores them); Mamba
            on the real tokens only;
  cache     prefill (input cache filled with garbage, which must be ignored)
            then decode_step of 1 token at positions [s, s] and of 3 tokens at
            positions [s+1, s-4] (the second row rewinds), each call fed the
            caches the previous one returned, capacity s+4; logits against
            the full forward of each row's token sequence (Mamba: prefill and
            decode_step with conv/ssm states, states compared too);
  generate  `kiln-run --generate 16 --prompt-ids ...` token for token against
            reference.greedy_generate (full forward per token, no cache); the
            reference's top-1/top-2 margins must be >= 1e-2, so fp32 noise
            cannot flip a token.
Tolerance: max|kiln - ref| <= 1e-3 (absolute) for logits, hidden states and
states. Prints one line per comparison with the measured max abs error and
exits 1 when any fails or a tool fails. --dry-run only writes the folder and
evaluates the references (no tools).
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch

from kiln import bundled, reference, testing

TOL = testing.Tolerance(rtol=0.0, atol=1e-3)
MIN_MARGIN = 1e-2
GEN_TOKENS = 16

# (batch lengths) per forward shape: seq 1, 17, 128, unequal where possible.
FORWARD = {1: [1, 1], 17: [17, 9, 1], 128: [128, 77]}


class Variant:
    def __init__(self, family, seed, options=None, shards=0, forward=(1, 17, 128),
                 cache=(), prompts=()):
        self.family = family
        self.seed = seed
        self.options = options or {}
        self.shards = shards
        self.forward = forward
        self.cache = cache
        self.prompts = prompts


# Generation prompts: (ids, --capacity or None), chosen so that the reference
# continuation varies (a model stuck on one token tests little) and its
# smallest top-1/top-2 margin is >= 0.04.
P_A = ([300, 2, 77], None)
P_B = ([5], 40)
P_C = ([17, 402, 9, 733, 250, 61, 998], None)
P_E = ([1], None)
VARIANTS = {
    "bert": Variant("bert", 11),
    "bert_prefix": Variant("bert", 12, dict(prefix="bert."), forward=(17,)),
    "llama": Variant("llama", 21, cache=(1, 17, 128), prompts=(P_A, P_B)),
    "llama_tied": Variant("llama", 22, dict(tie_word_embeddings=True), forward=(17,),
                          prompts=(P_A,)),
    "llama_gqa": Variant("llama", 23, dict(num_attention_heads=8, num_key_value_heads=2),
                         forward=(17, 128), cache=(17,), prompts=(P_C,)),
    # Sharded, and an explicit head_dim (48) that is not hidden / heads.
    "llama_sharded": Variant("llama", 24, dict(head_dim=48), shards=3, forward=(17,),
                             cache=(17,), prompts=(P_C,)),
    "gpt2": Variant("gpt2", 31, cache=(1, 17, 128), prompts=(P_B, P_A)),
    "gpt2_prefix": Variant("gpt2", 32, dict(prefix="transformer."), forward=(17,),
                           prompts=(P_E,)),
    "mamba": Variant("mamba", 41, cache=(1, 17, 128), prompts=(P_C, P_B)),
}


class Harness:
    def __init__(self, name, variant, workdir, dry_run, padded="hf"):
        self.name = name
        self.padded = padded
        self.v = variant
        self.workdir = workdir
        self.dry_run = dry_run
        self.failures = 0
        self.rng = np.random.default_rng(variant.seed + 1000)

    def say(self, text):
        print(f"[{self.name}] {text}", flush=True)

    def record(self, ok, line):
        self.failures += not ok
        self.say(line)

    def compare(self, label, got, ref):
        ok, line = testing.compare(label, np.asarray(got), np.asarray(ref), TOL)
        self.record(ok, line)

    def run(self, inputs, entry, tag):
        return testing.run_model(self.model, inputs, os.path.join(self.workdir, tag),
                                 entry=entry)

    # --- setup -------------------------------------------------------------------

    def prepare(self):
        hf_dir = os.path.join(self.workdir, "hf")
        bundled.write_model(hf_dir, self.v.family, seed=self.v.seed, shards=self.v.shards,
                            **self.v.options)
        self.config, self.state = reference.load_hf_folder(hf_dir)
        files = sorted(os.listdir(hf_dir))
        self.say(f"{self.v.family} checkpoint {self.v.options or 'defaults'}: {', '.join(files)}")
        self.say(f"tolerance: max abs err <= {TOL.atol:g} (fp32 vs float64 reference)")
        if self.dry_run:
            return True
        self.model = os.path.join(self.workdir, "model")
        command = [testing.find_tool("kiln-compile"), hf_dir, "-o", self.model, "--quiet"]
        start = time.monotonic()
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if result.returncode != 0:
            self.record(False, f"FAIL: {' '.join(command)} exited with {result.returncode}:"
                               f"\n{result.stdout}{result.stderr}")
            return False
        self.say(f"compiled in {time.monotonic() - start:.1f} s")
        return True

    def ids(self, shape):
        return self.rng.integers(0, self.config["vocab_size"], shape).astype(np.int64)

    # --- forward -------------------------------------------------------------------

    def check_forward(self, seq):
        lengths = FORWARD[seq]
        b = len(lengths)
        mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
        inputs = {"input_ids": self.ids((b, seq)), "attention_mask": mask}
        family = self.v.family
        if family == "bert":
            inputs["token_type_ids"] = (self.rng.integers(0, 2, (b, seq)) * mask).astype(np.int64)
        out_name = "last_hidden_state" if family == "bert" else "logits"
        ref = reference.forward(self.config, self.state, **inputs).numpy()
        label = f"forward batch={b} seq={seq} lengths={lengths} {out_name}"
        if self.dry_run:
            self.say(f"{label}: reference max|.| {np.abs(ref).max():.2f}")
            return
        got = self.run(inputs, None, f"forward{seq}")[out_name]
        if got.shape != ref.shape:
            self.record(False, f"{label}: shape {list(got.shape)} but the reference has "
                               f"{list(ref.shape)} FAIL")
            return
        real = mask != 0
        self.compare(label + " real tokens", got[real], ref[real])
        if family != "mamba" and (~real).any():
            if self.padded == "hf":
                self.compare(label + " padded positions", got[~real], ref[~real])
            elif self.padded == "zero":
                self.compare(label + " padded positions (expected zero)", got[~real],
                             np.zeros_like(ref[~real]))

    # --- prefill / decode_step -------------------------------------------------------

    def kv_dims(self):
        c = self.config
        if self.v.family == "gpt2":
            return c["n_layer"], c["n_head"], c["n_embd"] // c["n_head"]
        heads = c["num_attention_heads"]
        return (c["num_hidden_layers"], c.get("num_key_value_heads") or heads,
                c.get("head_dim") or c["hidden_size"] // heads)

    def ref_rows(self, rows, last):
        """Logits of the last `last` tokens of each row (rows may differ in
        length), stacked: [batch, last, vocab]."""
        return np.stack([reference.forward(self.config, self.state,
                                           input_ids=np.array([r]))[0, -last:].numpy()
                         for r in rows])

    def check_cache(self, seq):
        if self.v.family == "mamba":
            return self.check_mamba_cache(seq)
        layers, kvh, d = self.kv_dims()
        b, cap = 2, seq + 4
        ids = self.ids((b, seq))
        rows = [list(r) for r in ids]
        garbage = lambda: (self.rng.standard_normal((layers, b, cap, kvh, d)) * 100).astype(np.float32)
        steps = [("prefill", {"input_ids": ids, "key_cache": garbage(),
                              "value_cache": garbage()}, None)]
        new1 = self.ids((b, 1))
        steps.append(("decode_step", {"input_ids": new1,
                                      "positions": np.array([seq, seq], dtype=np.int64)}, None))
        new3 = self.ids((b, 3))
        pos3 = [seq + 1, max(0, seq - 4)]
        steps.append(("decode_step", {"input_ids": new3,
                                      "positions": np.array(pos3, dtype=np.int64)}, None))
        expected = [self.ref_rows(rows, seq)]
        rows = [r + list(n) for r, n in zip(rows, new1)]
        expected.append(self.ref_rows(rows, 1))
        rows = [r[:p] + list(n) for r, p, n in zip(rows, pos3, new3)]
        expected.append(self.ref_rows(rows, 3))
        caches = {}
        for (entry, inputs, _), ref in zip(steps, expected):
            label = (f"{entry} batch={b} seq={inputs['input_ids'].shape[1]} capacity={cap}"
                     + (f" positions={list(inputs['positions'])}" if "positions" in inputs else "")
                     + " logits")
            if self.dry_run:
                self.say(f"{label}: reference max|.| {np.abs(ref).max():.2f}")
                continue
            inputs = dict(inputs, **caches)
            got = self.run(inputs, entry, f"cache{seq}")
            if "logits" not in got:
                self.record(False, f"{label}: no logits output (got {sorted(got)}) FAIL")
                return
            self.compare(label, got["logits"], ref)
            caches = {"key_cache": got["key_cache"], "value_cache": got["value_cache"]}

    def check_mamba_cache(self, seq):
        b = 2
        ids = self.ids((b, seq))
        new1, new3 = self.ids((b, 1)), self.ids((b, 3))
        chunks = [("prefill", ids), ("decode_step", new1), ("decode_step", new3)]
        seen = np.zeros((b, 0), dtype=np.int64)
        states = {}
        for entry, chunk in chunks:
            seen = np.concatenate([seen, chunk], 1)
            logits, (conv, ssm) = reference.mamba_forward(self.config, self.state, seen,
                                                          return_cache=True)
            ref = {"logits": logits[:, -chunk.shape[1]:].numpy(),
                   "conv_state": torch.stack(conv).numpy(),
                   "ssm_state": torch.stack(ssm).numpy()}
            label = f"{entry} batch={b} seq={chunk.shape[1]} (after {seen.shape[1] - chunk.shape[1]})"
            if self.dry_run:
                self.say(f"{label}: reference max|logits| {np.abs(ref['logits']).max():.2f} "
                         f"max|ssm_state| {np.abs(ref['ssm_state']).max():.2f}")
                continue
            got = self.run(dict({"input_ids": chunk}, **states), entry, f"cache{seq}")
            missing = set(ref) - set(got)
            if missing:
                self.record(False, f"{label}: outputs {sorted(missing)} missing "
                                   f"(got {sorted(got)}) FAIL")
                return
            for name in ("logits", "conv_state", "ssm_state"):
                self.compare(f"{label} {name}", got[name], ref[name])
            states = {"conv_state": got["conv_state"], "ssm_state": got["ssm_state"]}

    # --- generation ----------------------------------------------------------------------

    def check_generate(self, prompt, capacity):
        tokens, margins = reference.greedy_generate(self.config, self.state, prompt, GEN_TOKENS)
        label = (f"generate {GEN_TOKENS} after prompt {prompt}"
                 + (f" --capacity {capacity}" if capacity else ""))
        margin = min(margins)
        if margin < MIN_MARGIN:
            self.record(False, f"{label}: reference margin {margin:.2e} < {MIN_MARGIN:g}: the "
                               f"test itself is ill-conditioned (change the prompt) FAIL")
            return
        if self.dry_run:
            self.say(f"{label}: reference {tokens} (min margin {margin:.3f})")
            return
        command = [testing.find_tool("kiln-run"), self.model, "--generate", str(GEN_TOKENS),
                   "--prompt-ids", ",".join(map(str, prompt))]
        if capacity:
            command += ["--capacity", str(capacity)]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if result.returncode != 0:
            self.record(False, f"{label}: {' '.join(command)} exited with "
                               f"{result.returncode}:\n{result.stdout}{result.stderr}FAIL")
            return
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        try:
            got = [int(t) for t in lines[0].split()] if len(lines) == 1 else None
        except ValueError:
            got = None
        if got is None:
            self.record(False, f"{label}: expected one stdout line of ids, got "
                               f"{result.stdout!r} FAIL")
            return
        if got == tokens:
            self.record(True, f"{label}: {len(tokens)}/{len(tokens)} tokens match "
                              f"(reference min margin {margin:.3f}) ok")
            return
        first = next((i for i, (a, r) in enumerate(zip(got, tokens)) if a != r),
                     min(len(got), len(tokens)))
        self.record(False, f"{label}: first mismatch at token {first} (reference margin "
                           f"there {margins[first] if first < len(margins) else 0:.3f})\n"
                           f"  kiln:      {got}\n  reference: {tokens} FAIL")

    def main(self):
        if not self.prepare():
            return
        stages = [(self.check_forward, s) for s in self.v.forward]
        stages += [(self.check_cache, s) for s in self.v.cache]
        stages += [(lambda p: self.check_generate(*p), p) for p in self.v.prompts]
        for fn, arg in stages:
            try:
                fn(arg)
            except testing.ToolError as error:
                self.record(False, f"FAIL: {error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="+", help=f"of {sorted(VARIANTS)}")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--compiler")
    parser.add_argument("--runner")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--padded", choices=("hf", "zero", "skip"), default="hf",
                        help="what forward must give at padded positions: Hugging "
                             "Face's values (default), zeros, or anything")
    args = parser.parse_args()
    if args.compiler:
        testing.TOOLS["kiln-compile"] = args.compiler
    if args.runner:
        testing.TOOLS["kiln-run"] = args.runner
    torch.set_num_threads(1)     # tiny float64 ops: threads only add overhead
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {unknown}; known: {sorted(VARIANTS)}")
        return 2
    failures = 0
    for name in args.variants:
        harness = Harness(name, VARIANTS[name], os.path.join(args.workdir, name), args.dry_run,
                          args.padded)
        harness.main()
        failures += harness.failures
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
