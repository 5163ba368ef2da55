"""Magnitude pruning of checkpoints, to make sparse test and benchmark weights.

    python3 -m kiln.prune IN OUT --pattern 2:4 [--include REGEX]
    python3 -m kiln.prune IN OUT --pattern block:16x16 --sparsity 0.75

IN is a Hugging Face model folder or a .safetensors file; OUT is a folder
(the pruned copy of IN's folder, config and tokenizer files included) or a
.safetensors file. Every 2-D floating-point tensor whose name matches
--include (default: names ending in `.weight` that are not embeddings or
norms) is pruned in the [out, in] layout `torch.nn.Linear` stores:

- `2:4`: in every group of 4 consecutive input features of a row, the two
  of smallest magnitude become zero (NVIDIA's 2:4 semi-structured sparsity).
- `block:RxC`: the matrix is cut into R x C blocks (R output rows, C input
  columns; the shape must divide evenly); the fraction `--sparsity` of blocks
  with the smallest L2 norm becomes zero (block pruning as in Optimal BERT
  Surgeon's structured variants).

Other tensors are copied unchanged. Pruning is deterministic (ties break by
position), so a test can prune in Python and compare against numpy on the
same pruned weights.
"""

import argparse
import json
import os
import re
import shutil
import sys

import numpy as np

from . import safetensors_io

DEFAULT_INCLUDE = r"^(?!.*(embed|norm|wte|wpe|lm_head)).*\.weight$"


def prune_2_4(weight):
    """Zeros the 2 smallest-magnitude values of every group of 4 along the
    last axis. `weight` is [out, in] with in % 4 == 0."""
    rows, cols = weight.shape
    if cols % 4:
        raise ValueError(f"2:4 needs the input dimension to be a multiple of "
                         f"4, got {weight.shape}")
    groups = weight.reshape(rows, cols // 4, 4)
    # Stable sort: among equal magnitudes the earlier position is kept.
    order = np.argsort(-np.abs(groups), axis=-1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :2], True, axis=-1)
    return np.where(keep, groups, 0).reshape(rows, cols).astype(weight.dtype)


def prune_blocks(weight, block, sparsity):
    """Zeros the `sparsity` fraction (rounded to whole blocks) of R x C
    blocks with the smallest L2 norm."""
    rows, cols = weight.shape
    r, c = block
    if rows % r or cols % c:
        raise ValueError(f"block {r}x{c} does not divide the weight shape "
                         f"{weight.shape}")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    blocks = weight.reshape(rows // r, r, cols // c, c)
    norms = np.sqrt((blocks.astype(np.float64) ** 2).sum(axis=(1, 3)))
    count = int(round(sparsity * norms.size))
    mask = np.ones(norms.size, dtype=bool)
    mask[np.argsort(norms.ravel(), kind="stable")[:count]] = False
    mask = mask.reshape(norms.shape)[:, None, :, None]
    return np.where(mask, blocks, 0).reshape(rows, cols).astype(weight.dtype)


def parse_pattern(text):
    """'2:4' -> ('2:4', None); 'block:16x16' -> ('block', (16, 16))."""
    if text == "2:4":
        return "2:4", None
    match = re.fullmatch(r"block:(\d+)x(\d+)", text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ValueError(f"--pattern must be 2:4 or block:RxC (R, C >= 1), "
                         f"got {text!r}")
    return "block", (int(match.group(1)), int(match.group(2)))


def prune_tensors(tensors, pattern, sparsity=0.5, include=DEFAULT_INCLUDE):
    """Prunes the matching 2-D float tensors of a name -> array dict; returns
    the new dict and the names pruned."""
    kind, block = parse_pattern(pattern)
    select = re.compile(include)
    out, pruned = {}, []
    for name, array in tensors.items():
        if (array.ndim == 2 and array.dtype.kind == "f"
                and select.search(name)):
            wide = array.astype(np.float32)
            wide = (prune_2_4(wide) if kind == "2:4"
                    else prune_blocks(wide, block, sparsity))
            out[name] = wide.astype(array.dtype)
            pruned.append(name)
        else:
            out[name] = array
    return out, pruned


def _checkpoint_files(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            return sorted(set(json.load(f)["weight_map"].values()))
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return ["model.safetensors"]
    raise FileNotFoundError(f"{folder}: no model.safetensors or "
                            f"model.safetensors.index.json")


def _load(path):
    """Like safetensors_io.load, keeping BF16 as float32 but remembering it."""
    with open(path, "rb") as f:
        raw = f.read(8)
        length = int.from_bytes(raw, "little")
        header = json.loads(f.read(length))
    bf16 = [k for k, v in header.items()
            if k != "__metadata__" and v["dtype"] == "BF16"]
    tensors = safetensors_io.load(path)
    for name in bf16:
        tensors[name] = safetensors_io.from_bfloat16_bits(tensors[name])
    return tensors, ("BF16" if bf16 else None), header.get("__metadata__")


def prune_file(src, dst, pattern, sparsity, include):
    tensors, float_dtype, metadata = _load(src)
    out, pruned = prune_tensors(tensors, pattern, sparsity, include)
    safetensors_io.save(out, dst, metadata=metadata, float_dtype=float_dtype)
    return pruned


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m kiln.prune",
        description="Magnitude-prune a checkpoint to 2:4 or block sparsity.")
    parser.add_argument("input", help="Hugging Face folder or .safetensors")
    parser.add_argument("output", help="folder or .safetensors to write")
    parser.add_argument("--pattern", required=True,
                        help="2:4 or block:RxC (R output rows x C inputs)")
    parser.add_argument("--sparsity", type=float, default=0.5,
                        help="fraction of blocks to zero (block patterns)")
    parser.add_argument("--include", default=DEFAULT_INCLUDE,
                        help="regex of tensor names to prune")
    args = parser.parse_args(argv)
    try:
        parse_pattern(args.pattern)
        if not 0.0 <= args.sparsity <= 1.0:
            raise ValueError(f"--sparsity must be in [0, 1], got "
                             f"{args.sparsity}")
        if os.path.isdir(args.input):
            os.makedirs(args.output, exist_ok=True)
            pruned = []
            for name in os.listdir(args.input):
                src = os.path.join(args.input, name)
                if os.path.isfile(src) and not name.endswith(".safetensors"):
                    shutil.copyfile(src, os.path.join(args.output, name))
            for name in _checkpoint_files(args.input):
                pruned += prune_file(os.path.join(args.input, name),
                                     os.path.join(args.output, name),
                                     args.pattern, args.sparsity, args.include)
        else:
            if os.path.isdir(args.output) or not args.output.endswith(
                    ".safetensors"):
                raise ValueError("a .safetensors input needs a .safetensors "
                                 "output path")
            pruned = prune_file(args.input, args.output, args.pattern,
                                args.sparsity, args.include)
    except (ValueError, OSError, KeyError) as error:
        print(f"kiln.prune: error: {error}", file=sys.stderr)
        return 1
    print(f"pruned {len(pruned)} tensors to {args.pattern}"
          + (f" at {args.sparsity:g}" if args.pattern != "2:4" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
