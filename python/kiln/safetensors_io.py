"""Minimal safetensors reader and writer on numpy (no `safetensors` package).

The format: an 8-byte little-endian header length, a JSON header mapping
tensor names to {dtype, shape, data_offsets} (offsets relative to the data
section), then the data. Written the way the Python `safetensors` package
writes it (sorted keys, tensors back to back), so Kiln's reader is tested
against the layout real checkpoints have.
"""

import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def to_bfloat16_bits(array):
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def from_bfloat16_bits(bits):
    """bfloat16 bit patterns (uint16) -> float32, exactly."""
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def save(tensors, path, metadata=None, float_dtype=None):
    """Writes a dict of name -> numpy array to `path`. `float_dtype` "F16" or
    "BF16" stores every floating-point tensor in that type (rounded to
    nearest even), as half-precision Hugging Face checkpoints are."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        dtype = _NAMES.get(array.dtype)
        if float_dtype and array.dtype.kind == "f":
            if float_dtype == "F16":
                array, dtype = array.astype(np.float16), "F16"
            elif float_dtype == "BF16":
                array, dtype = to_bfloat16_bits(array), "BF16"
            else:
                raise ValueError(f"float_dtype must be F16 or BF16, got {float_dtype!r}")
        if dtype is None:
            raise ValueError(f"tensor {name!r}: unsupported dtype {array.dtype}")
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load(path):
    """Reads a safetensors file into a dict of name -> numpy array."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    base = 8 + length
    result = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        data = raw[base + begin:base + end]
        if info["dtype"] == "BF16":
            array = from_bfloat16_bits(np.frombuffer(data, dtype=np.uint16))
        else:
            array = np.frombuffer(data, dtype=_DTYPES[info["dtype"]])
        result[name] = array.reshape(info["shape"]).copy()
    return result
