"""Writes the weights of sparsify.mlir: known sparsity patterns.

dense.weight [32, 64]: random, no zeros.
two_four.weight [32, 64]: 2:4 pruned (kiln.prune), one group all zero.
block.weight [32, 64]: 6 of 8 16x16 blocks zero (block density 0.25).
up.weight [64, 32]: 6 of 8 16x16 blocks zero; down.weight [32, 64]: dense.
"""

import sys

import numpy as np

from kiln import prune, safetensors_io

rng = np.random.default_rng(0)


def randn(*shape):
    # Away from zero, so that only pruning makes zeros.
    x = rng.standard_normal(shape).astype(np.float32)
    return np.where(np.abs(x) < 0.05, 0.5, x).astype(np.float32)


two_four = prune.prune_2_4(randn(32, 64))
two_four[3, 8:12] = 0
safetensors_io.save({
    "dense.weight": randn(32, 64),
    "two_four.weight": two_four,
    "block.weight": prune.prune_blocks(randn(32, 64), (16, 16), 0.75),
    "up.weight": prune.prune_blocks(randn(64, 32), (16, 16), 0.75),
    "down.weight": randn(32, 64),
    "half.weight": randn(32, 64).astype(np.int32),
}, sys.argv[1])
