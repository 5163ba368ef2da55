"""Helpers of Kiln's end-to-end tests: compile a model, run it, compare.

A test writes a kiln-dialect module and its weights, compiles it once with
`kiln-compile`, runs the compiled directory with `kiln-run` on `.npy` inputs
of several shapes and compares each output with an independent reference
(PyTorch in float64). Only the command-line tools are used, so the tests see
exactly what a user sees.
"""

import os
import shutil
import subprocess
import time

import numpy as np

from kiln import safetensors_io


class ToolError(Exception):
    """A kiln tool exited non-zero; the message holds its command and stderr."""


# Explicit tool paths (e.g. from a lit substitution); name -> path.
TOOLS = {}


def find_tool(name):
    """Returns the path of `name`: TOOLS, then $KILN_TOOLS_DIR, then PATH."""
    if name in TOOLS:
        return TOOLS[name]
    tools_dir = os.environ.get("KILN_TOOLS_DIR")
    if tools_dir:
        candidate = os.path.join(tools_dir, name)
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if not found:
        raise ToolError(f"cannot find {name} (set KILN_TOOLS_DIR or PATH)")
    return found


def _run(command):
    """Runs `command`, raising ToolError with its stderr when it fails."""
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise ToolError(f"{' '.join(command)} exited with {result.returncode}:"
                        f"\n{result.stdout}{result.stderr}")
    return result


def compile_model(mlir_text, weights, workdir, extra_flags=()):
    """Writes `mlir_text` and `weights` (name -> numpy array) under `workdir`
    and compiles them into `workdir/model`. Returns the model directory."""
    os.makedirs(workdir, exist_ok=True)
    mlir_path = os.path.join(workdir, "model.mlir")
    with open(mlir_path, "w") as f:
        f.write(mlir_text)
    command = [find_tool("kiln-compile"), mlir_path, "--quiet",
               "-o", os.path.join(workdir, "model")]
    if weights:
        weights_path = os.path.join(workdir, "weights.safetensors")
        safetensors_io.save(weights, weights_path)
        command += ["--weights", weights_path]
    command += list(extra_flags)
    _run(command)
    return os.path.join(workdir, "model")


def run_model(model_dir, inputs, workdir, entry=None):
    """Runs the compiled model on `inputs` (name -> numpy array), writing the
    .npy files under `workdir`. Returns a dict output name -> numpy array."""
    in_dir = os.path.join(workdir, "in")
    out_dir = os.path.join(workdir, "out")
    for d in (in_dir, out_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    command = [find_tool("kiln-run"), model_dir, "--output-dir", out_dir]
    if entry:
        command += ["--entry", entry]
    for name, array in inputs.items():
        path = os.path.join(in_dir, name + ".npy")
        np.save(path, np.ascontiguousarray(array))
        command += ["--input", f"{name}={path}"]
    _run(command)
    return {file[:-4]: np.load(os.path.join(out_dir, file))
            for file in sorted(os.listdir(out_dir)) if file.endswith(".npy")}


class Tolerance:
    """Accepts `got` when max|got - ref| <= max(atol, rtol * max|ref|)."""

    def __init__(self, rtol=1e-4, atol=1e-5):
        self.rtol = rtol
        self.atol = atol

    def bound(self, ref):
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        return max(self.atol, self.rtol * scale)

    def __str__(self):
        return f"rtol {self.rtol:g} of max|ref|, atol {self.atol:g}"


def compare(label, got, ref, tolerance):
    """Compares one output with its float64 reference. Returns (ok, line):
    the line gives the max abs error, the error relative to max|ref| and the
    bound. Shapes must match exactly; NaN/Inf in `got` always fail."""
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        return False, (f"{label}: shape {list(got.shape)} but the reference "
                       f"has {list(ref.shape)}")
    got64 = got.astype(np.float64)
    if not np.all(np.isfinite(got64)):
        return False, f"{label}: {int((~np.isfinite(got64)).sum())} non-finite values"
    if ref.size == 0:
        return True, f"{label}: empty"
    err = float(np.abs(got64 - ref).max())
    scale = float(np.abs(ref).max())
    rel = err / scale if scale > 0 else err
    bound = tolerance.bound(ref)
    ok = err <= bound
    return ok, (f"{label}: max abs err {err:.3e}, rel {rel:.3e} "
                f"(bound {bound:.3e}) {'ok' if ok else 'FAIL'}")


def compare_exact(label, got, ref):
    """Compares an integer (or exactly representable) output bit for bit."""
    ref = np.asarray(ref)
    if got.shape != ref.shape:
        return False, (f"{label}: shape {list(got.shape)} but the reference "
                       f"has {list(ref.shape)}")
    mismatches = int((got != ref.astype(got.dtype)).sum())
    return mismatches == 0, (f"{label}: {mismatches} mismatching elements "
                             f"{'ok' if mismatches == 0 else 'FAIL'}")


class Timer:
    """Wall-clock seconds since construction."""

    def __init__(self):
        self.start = time.monotonic()

    def seconds(self):
        return time.monotonic() - self.start
