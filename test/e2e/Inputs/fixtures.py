"""Files for the error-path tests: weights of the tiny model (good and
broken variants), .npy inputs, and damaged copies of compiled files.

    fixtures.py weights OUT [good|missing|wrong-shape|wrong-dtype]
    fixtures.py npy OUT SHAPE DTYPE          SHAPE like 2,3,8; DTYPE f32|f64|i32|i64
    fixtures.py ids OUT ROWS                 int64 rows like "0,16,1;2,3,4"
    fixtures.py special OUT SHAPE VALUE      npy of SHAPE (f32) with element 0 = VALUE
                                             (nan, inf, -inf)
    fixtures.py flip-header-byte FILE        changes one byte of the JSON header
    fixtures.py flip-last-byte FILE          changes the last byte (tensor data)
    fixtures.py set-version FILE             rewrites the kiln_version metadata with
                                             its digits as 9s (same length, so the
                                             file size holds)
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


def ids(out, rows):
    np.save(out, np.array([[int(v) for v in r.split(",")] for r in rows.split(";")],
                          dtype=np.int64))


def special(out, shape, value):
    dims = [int(d) for d in shape.split(",") if d]
    array = (np.arange(int(np.prod(dims))) % 7).reshape(dims).astype(np.float32)
    array.reshape(-1)[0] = float(value)
    np.save(out, array)


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


def flip_last_byte(path):
    with open(path, "r+b") as f:
        f.seek(-1, 2)
        byte = f.read(1)[0]
        f.seek(-1, 2)
        f.write(bytes([byte ^ 0x01]))


def set_version(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    old = header["__metadata__"]["kiln_version"]
    version = "".join("9" if c.isdigit() else c for c in old)
    if version == old:
        version = version.replace("9", "8")
    key = b'"kiln_version":"' + old.encode() + b'"'
    assert data[8:8 + length].count(key) == 1
    new_header = data[8:8 + length].replace(key, b'"kiln_version":"' + version.encode() + b'"')
    with open(path, "wb") as f:
        f.write(data[:8] + new_header + data[8 + length:])


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
                "truncate": truncate, "lying-header": lying_header, "ids": ids,
                "special": special, "flip-last-byte": flip_last_byte,
                "set-version": set_version}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    commands[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
