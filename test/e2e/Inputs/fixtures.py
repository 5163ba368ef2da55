"""Files for the error-path tests: weights of the tiny model (good and
broken variants), .npy inputs, and damaged copies of compiled files.

    fixtures.py weights OUT [good|missing|wrong-shape|wrong-dtype]
    fixtures.py npy OUT SHAPE DTYPE          SHAPE like 2,3,8; DTYPE f32|f64|i32|i64
    fixtures.py flip-header-byte FILE        changes one byte of the JSON header
    fixtures.py truncate FILE NBYTES         drops the last NBYTES bytes
    fixtures.py lying-header OUT             data_offsets beyond the file's end
"""

import json
import struct
import sys

import numpy as np

from kiln import safetensors_io

# The tiny model (see the .test files): y = linear(x, "proj.weight" [8, 8])
# + embedding("embed.weight" [16, 8], ids).
TINY = {"proj.weight": (8, 8), "embed.weight": (16, 8)}


def weights(out, variant="good"):
    rng = np.random.default_rng(0)
    tensors = {n: rng.standard_normal(s).astype(np.float32) for n, s in TINY.items()}
    if variant == "missing":
        del tensors["embed.weight"]
    elif variant == "wrong-shape":
        tensors["embed.weight"] = tensors["embed.weight"][:, :4].copy()
    elif variant == "wrong-dtype":
        tensors["embed.weight"] = tensors["embed.weight"].astype(np.float64)
    safetensors_io.save(tensors, out)


def npy(out, shape, dtype):
    dims = [int(d) for d in shape.split(",") if d]
    types = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
    np.save(out, (np.arange(int(np.prod(dims))) % 7).reshape(dims).astype(types[dtype]))


def flip_header_byte(path):
    """Changes one character of a metadata value in the JSON header (the
    header stays valid JSON of the same length)."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    (length,) = struct.unpack("<Q", raw[:8])
    header = raw[8:8 + length]
    at = header.find(b"kiln-weights")
    if at < 0:
        at = header.find(b'"F32"') + 1          # F32 -> G32
    header[at] = header[at] + 1
    raw[8:8 + length] = header
    with open(path, "wb") as f:
        f.write(raw)


def truncate(path, nbytes):
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(raw[:len(raw) - int(nbytes)])


def lying_header(out):
    """A safetensors file whose header promises 8x8 F32 (256 bytes) of
    "proj.weight" but holds only 16 data bytes."""
    header = {"proj.weight": {"dtype": "F32", "shape": [8, 8], "data_offsets": [0, 256]}}
    text = json.dumps(header).encode()
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(16))


def main(argv):
    commands = {"weights": weights, "npy": npy, "flip-header-byte": flip_header_byte,
                "truncate": truncate, "lying-header": lying_header}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    commands[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
