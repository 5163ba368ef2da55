"""Runs kiln ops through kiln-lower-to-linalg and MLIR's JIT.

A family's cases become one MLIR module: one kernel function per case whose
batch/sequence dims are dynamic, and a `main` that calls each kernel on
dense constants and prints every result with printMemrefF32/I32. The module
is lowered with kiln-opt and run with mlir-runner; the printed tensors are
parsed back and compared with references computed by PyTorch/numpy.
"""

import os
import re
import subprocess
import sys
import tempfile

import numpy as np

LLVM_BIN = "/usr/lib/llvm-22/bin"
LLVM_LIB = "/usr/lib/llvm-22/lib"

# The upstream lowering of the IR that kiln-lower-to-linalg produces, down to
# the LLVM dialect. `inline` lets static shapes flow into the kernels:
# MLIR 22's expand-strided-metadata crashes on a memref.expand_shape whose
# reassociation group holds two dynamic dims (kiln.linear's [M, N] ->
# [B, S, N]), so the families that use linear run with their shapes folded.
PIPELINE = [
    "--kiln-lower-to-linalg",
    "--canonicalize",
    "--one-shot-bufferize=bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map",
    "--convert-linalg-to-loops",
    # The fused attention kernel: scf.forall over (batch, head) and 8-lane
    # vector code.
    "--scf-forall-to-for",
    "--convert-vector-to-scf=full-unroll=true",
    "--convert-math-to-llvm",
    "--convert-math-to-libm",
    "--expand-strided-metadata",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--convert-vector-to-llvm",
    "--convert-to-llvm",
    "--reconcile-unrealized-casts",
]

MLIR_TYPES = {np.dtype("float32"): "f32", np.dtype("int64"): "i64",
              np.dtype("int32"): "i32"}


def tensor_type(shape, dtype):
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    return "tensor<%s%s>" % (dims, MLIR_TYPES[np.dtype(dtype)])


def dynamic_type(array, num_dynamic):
    """The type of `array` with its first `num_dynamic` dims dynamic."""
    shape = [None if i < num_dynamic else d for i, d in enumerate(array.shape)]
    return tensor_type(shape, array.dtype)


def dense(array):
    if array.dtype == np.float32:
        fmt = lambda v: "%.9e" % v
    else:
        fmt = lambda v: "%d" % v

    def rec(a):
        if a.ndim == 0:
            return fmt(a)
        return "[" + ", ".join(rec(x) for x in a) + "]"
    return "dense<%s>" % rec(array)


class Case:
    """One kernel: `op` is MLIR text computing `%r` (or `%r:n`) from
    `%a0...`; `args` are (array, num_dynamic_dims) or ("index", value);
    `refs` are the expected outputs in order."""

    def __init__(self, name, op, args, refs, dyn_results, atol=1e-5,
                 rtol=1e-4):
        self.name = name
        self.op = op
        self.args = args
        self.refs = [np.asarray(r) for r in refs]
        self.dyn_results = dyn_results
        self.atol = atol
        self.rtol = rtol

    def arg_types(self):
        types = []
        for arg in self.args:
            if isinstance(arg[0], str):
                types.append("index")
            else:
                types.append(dynamic_type(arg[0], arg[1]))
        return types

    def result_types(self):
        return [dynamic_type(r.astype(r.dtype if r.dtype == np.int32
                                      else np.float32), n)
                for r, n in zip(self.refs, self.dyn_results)]

    def kernel(self):
        args = ", ".join("%%a%d: %s" % (i, t)
                         for i, t in enumerate(self.arg_types()))
        results = self.result_types()
        text = self.op.format(T=self.arg_types(), R=results)
        if len(results) == 1:
            ret = "%r"
        else:
            ret = ", ".join("%%r#%d" % i for i in range(len(results)))
        return ("func.func private @%s(%s) -> (%s) {\n  %s\n  return %s : %s\n}\n" %
                (self.name, args, ", ".join(results), text, ret,
                 ", ".join(results)))

    def call(self, counter):
        lines, names = [], []
        for i, (arg, t) in enumerate(zip(self.args, self.arg_types())):
            name = "%%%s_in%d" % (self.name, i)
            if isinstance(arg[0], str):
                lines.append("%s = arith.constant %d : index" % (name, arg[1]))
            else:
                static = tensor_type(arg[0].shape, arg[0].dtype)
                lines.append("%s_c = arith.constant %s : %s" %
                             (name, dense(arg[0]), static))
                lines.append("%s = tensor.cast %s_c : %s to %s" %
                             (name, name, static, t))
            names.append(name)
        results = self.result_types()
        out = "%%%s_out" % self.name
        lines.append("%s:%d = call @%s(%s) : (%s) -> (%s)" % (
            out, len(results), self.name, ", ".join(names),
            ", ".join(self.arg_types()), ", ".join(results)))
        for i, t in enumerate(results):
            memref = t.replace("tensor", "memref")
            elem = "i32" if t.endswith("i32>") else "f32"
            v = "%%%s_m%d" % (self.name, i)
            lines.append("%s = bufferization.to_buffer %s#%d : %s to %s" %
                         (v, out, i, t, memref))
            lines.append("%s_u = memref.cast %s : %s to memref<*x%s>" %
                         (v, v, memref, elem))
            lines.append("call @printMemref%s(%s_u) : (memref<*x%s>) -> ()" %
                         (elem.upper(), v, elem))
        return "\n  ".join(lines)


def module(cases):
    text = "".join(c.kernel() for c in cases)
    text += ("func.func private @printMemrefF32(memref<*xf32>) "
             "attributes { llvm.emit_c_interface }\n"
             "func.func private @printMemrefI32(memref<*xi32>) "
             "attributes { llvm.emit_c_interface }\n")
    text += "func.func @main() {\n  %s\n  return\n}\n" % "\n  ".join(
        c.call(i) for i, c in enumerate(cases))
    return text


NUMBER = re.compile(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)")


def parse_prints(output):
    tensors = []
    for chunk in output.split("Unranked Memref")[1:]:
        sizes = re.search(r"sizes = \[([^\]]*)\]", chunk).group(1)
        shape = [int(s) for s in sizes.split(",") if s.strip()]
        data = chunk.split("data =", 1)[1]
        values = [float(v) for v in NUMBER.findall(data)]
        tensors.append(np.array(values, dtype=np.float64).reshape(shape))
    return tensors


def run(cases, kiln_opt, inline=False, lowering_options=""):
    """Lowers, runs and compares `cases`; `lowering_options` go to
    kiln-lower-to-linalg (e.g. "flash-attention=false")."""
    text = module(cases)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.mlir")
        with open(src, "w") as f:
            f.write(text)
        passes = list(PIPELINE)
        if lowering_options:
            passes[0] = f"--kiln-lower-to-linalg={lowering_options}"
        if inline:
            passes[1:1] = ["--inline", "--canonicalize"]
        lowered = subprocess.run([kiln_opt, src] + passes,
                                 capture_output=True, text=True)
        if lowered.returncode != 0:
            sys.stderr.write(lowered.stderr[-3000:])
            with open("/tmp/kiln-numerics-failed.mlir", "w") as f:
                f.write(text)
            sys.exit("kiln-opt failed")
        llvm = os.path.join(tmp, "out.mlir")
        with open(llvm, "w") as f:
            f.write(lowered.stdout)
        ran = subprocess.run(
            [os.path.join(LLVM_BIN, "mlir-runner"), llvm, "-e", "main",
             "-entry-point-result=void",
             "-shared-libs=%s/libmlir_c_runner_utils.so,"
             "%s/libmlir_runner_utils.so" % (LLVM_LIB, LLVM_LIB)],
            capture_output=True, text=True)
        if ran.returncode != 0:
            sys.stderr.write(ran.stderr)
            sys.exit("mlir-runner failed")
    got = parse_prints(ran.stdout)
    failed = False
    index = 0
    for case in cases:
        for k, ref in enumerate(case.refs):
            actual = got[index]
            index += 1
            ref = ref.astype(np.float64)
            if actual.shape != ref.shape:
                print("FAIL %s[%d]: shape %s, expected %s" %
                      (case.name, k, actual.shape, ref.shape))
                failed = True
                continue
            err = np.abs(actual - ref)
            bound = case.atol + case.rtol * np.abs(ref)
            ok = bool(np.all(err <= bound)) and not np.any(np.isnan(actual))
            print("%s %s[%d]: max abs err %.3g, max rel err %.3g "
                  "(atol %g, rtol %g)" % (
                      "ok  " if ok else "FAIL", case.name, k, err.max(initial=0),
                      (err / np.maximum(np.abs(ref), 1e-30)).max(initial=0),
                      case.atol, case.rtol))
            failed = failed or not ok
    if index != len(got):
        print("FAIL: %d printed tensors, expected %d" % (len(got), index))
        failed = True
    sys.exit(1 if failed else 0)
