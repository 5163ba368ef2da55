"""Shared fixtures of the kiln package tests (pytest; run by scripts/test).

The four bundled Hugging Face models (kiln.bundled, fixed seeds) are written
and compiled once per session; tests that need one ask for `compiled` and
call compiled("llama"). kiln-compile and libkiln_runtime.so are found as
kiln.locate describes (scripts/test sets KILN_TOOLS_DIR to its build).
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import kiln  # noqa: E402
from kiln import bundled  # noqa: E402

# fp32 Kiln against float64 references: max |kiln - ref| <= ATOL (absolute),
# as the Hugging Face lit tests (test/Target/HuggingFace) use.
ATOL = 1e-3
FAMILIES = ("bert", "llama", "gpt2", "mamba")
# A compile takes 3-8 s on 2 cores; a stuck one fails its test instead of
# hanging the run.
COMPILE_TIMEOUT = 300
SEEDS = {"bert": 11, "llama": 21, "gpt2": 31, "mamba": 41}


class Bundled:
    """A bundled checkpoint: its folder, config, tensors and compiled model."""

    def __init__(self, family, folder, config, state, out_dir, model):
        self.family = family
        self.folder = folder
        self.config = config
        self.state = state
        self.out_dir = out_dir
        self.model = model


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundled")
    cache = {}

    def get(family):
        if family not in cache:
            folder = str(root / family)
            config, state = bundled.write_model(folder, family, seed=SEEDS[family])
            out_dir = str(root / (family + "-out"))
            try:
                model = kiln.compile(folder, out_dir, quiet=True, timeout=COMPILE_TIMEOUT)
                cache[family] = Bundled(family, folder, config, state, out_dir, model)
            except kiln.KilnError as e:
                cache[family] = e          # fail every test of the family, compile once
        if isinstance(cache[family], Exception):
            raise cache[family]
        return cache[family]

    yield get
    for item in cache.values():
        if isinstance(item, Bundled):
            item.model.close()


def max_abs_diff(got, ref):
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert np.all(np.isfinite(got))
    return float(np.abs(got.astype(np.float64) - ref).max()) if got.size else 0.0
