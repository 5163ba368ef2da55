#!/usr/bin/env python3
"""Writes the PTX embedded in the `gpu.binary` ops of an MLIR file.

`gpu-module-to-binary{format=isa}` keeps the PTX as an escaped string
attribute (`assembly = "..."`); this decodes it so that ptxas and FileCheck
can read it. Usage: gpu-extract-ptx.py IN.mlir [OUT.ptx] (stdout without
OUT; several binaries are written one after the other).
"""
import re
import sys


def decode(s):
    # MLIR prints a non-printable or special byte as a backslash and two hex
    # digits, and a backslash or quote preceded by a backslash.
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            nxt = s[i + 1]
            if re.match(r"[0-9A-Fa-f]{2}", s[i + 1:i + 3]):
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
                continue
            out += {"n": b"\n", "t": b"\t"}.get(nxt, nxt.encode())
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    text = open(sys.argv[1]).read()
    blobs = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
    if not blobs:
        sys.exit(f"gpu-extract-ptx: no PTX (assembly of format=isa) in {sys.argv[1]}")
    ptx = "".join(decode(b) for b in blobs)
    if len(sys.argv) == 3:
        open(sys.argv[2], "w").write(ptx)
    else:
        sys.stdout.write(ptx)


if __name__ == "__main__":
    main()
