"""kiln.prune: magnitude pruning to 2:4 and block sparsity (numpy only)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from kiln import prune, safetensors_io

PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def test_2_4_keeps_the_two_largest_of_every_group():
    w = np.array([[1, -5, 3, 0.5, 2, 2, -2, 1]], np.float32)
    got = prune.prune_2_4(w)
    np.testing.assert_array_equal(got, [[0, -5, 3, 0, 2, 2, 0, 0]])
    big = prune.prune_2_4(np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32))
    assert ((big.reshape(8, 16, 4) != 0).sum(-1) == 2).all()


def test_block_pruning_zeros_the_weakest_blocks():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((32, 48)).astype(np.float32)
    w[:16, :16] *= 100           # the strongest block must survive
    got = prune.prune_blocks(w, (16, 16), 0.75)
    blocks = got.reshape(2, 16, 3, 16).transpose(0, 2, 1, 3)
    nonzero = np.abs(blocks).sum((2, 3)) != 0
    assert nonzero.sum() == 2 and nonzero[0, 0]
    # Kept blocks are unchanged.
    np.testing.assert_array_equal(got[:16, :16], w[:16, :16])


def test_errors():
    with pytest.raises(ValueError, match="block 5x16 does not divide"):
        prune.prune_blocks(np.zeros((32, 32), np.float32), (5, 16), 0.5)
    with pytest.raises(ValueError, match="multiple of 4"):
        prune.prune_2_4(np.zeros((2, 6), np.float32))
    with pytest.raises(ValueError, match="2:4 or block:RxC"):
        prune.parse_pattern("block:4")


def test_cli_prunes_a_file(tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / "in.safetensors"
    tensors = {"fc.weight": rng.standard_normal((16, 32)).astype(np.float32),
               "fc.bias": rng.standard_normal(16).astype(np.float32),
               "norm.weight": rng.standard_normal((4, 4)).astype(np.float32)}
    safetensors_io.save(tensors, str(src))
    dst = tmp_path / "out.safetensors"
    run = lambda *a: subprocess.run([sys.executable, "-m", "kiln.prune", *map(str, a)],
                                    cwd=PYTHON_DIR, capture_output=True, text=True)
    done = run(src, dst, "--pattern", "block:4x8", "--sparsity", "0.5")
    assert done.returncode == 0, done.stderr
    out = safetensors_io.load(str(dst))
    np.testing.assert_array_equal(out["fc.weight"],
                                  prune.prune_blocks(tensors["fc.weight"], (4, 8), 0.5))
    np.testing.assert_array_equal(out["fc.bias"], tensors["fc.bias"])
    np.testing.assert_array_equal(out["norm.weight"], tensors["norm.weight"])
    bad = run(src, dst, "--pattern", "3:4")
    assert bad.returncode == 1 and "--pattern must be 2:4 or block:RxC" in bad.stderr
