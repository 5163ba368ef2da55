"""Compile-and-run tests of Kiln against PyTorch references.

    e2e.py CASE [CASE ...] --workdir DIR [--compiler PATH] [--runner PATH]

For each case: write the kiln module and random weights (fixed seed),
compile once with `kiln-compile --quiet`, then for every shape of the case
write .npy inputs, run `kiln-run`, and compare each output with the float64
PyTorch reference of the case. Prints one line per output and shape and
exits 1 when any output is over its tolerance (or a tool fails).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kiln import testing  # noqa: E402

import cases_attention  # noqa: E402
import cases_dense  # noqa: E402
import cases_layers  # noqa: E402
import cases_ssm  # noqa: E402

CASES = {}
for module in (cases_dense, cases_attention, cases_ssm, cases_layers):
    for key, case in module.CASES.items():
        assert key not in CASES, key
        CASES[key] = case

SEED = 1234


def shape_label(shape):
    return " ".join(f"{k}={v}" for k, v in shape.items()
                    if not k.startswith("_"))


def run_case(case, workdir, negate=False, compile_flags=()):
    """Compiles `case` once and checks it on every shape. Returns the number
    of failed comparisons. `negate` flips the sign of every reference (used
    once to prove that the comparison can fail)."""
    rng = np.random.default_rng(SEED)
    case_dir = os.path.join(workdir, case.name)
    mlir, weights = case.build(rng)
    timer = testing.Timer()
    model = testing.compile_model(mlir, weights, case_dir,
                                  extra_flags=compile_flags)
    print(f"[{case.name}] compiled in {timer.seconds():.2f} s; tolerance "
          f"{case.tolerance}")
    failures = 0
    for shape in case.shapes:
        inputs = case.inputs(rng, shape, weights)
        got = testing.run_model(model, inputs, case_dir, entry=case.entry)
        refs = case.reference(inputs, weights)
        missing = set(refs) - set(got)
        if missing:
            print(f"[{case.name}] {shape_label(shape)}: outputs "
                  f"{sorted(missing)} not written (got {sorted(got)})")
            failures += 1
        for name in sorted(set(refs) & set(got)):
            ref = np.asarray(refs[name].numpy() if hasattr(refs[name], "numpy")
                             else refs[name])
            if negate:
                ref = -ref
            label = f"[{case.name}] {shape_label(shape)} {name}"
            if name in case.exact:
                ok, line = testing.compare_exact(label, got[name], ref)
            else:
                ok, line = testing.compare(label, got[name], ref, case.tolerance)
            print(line)
            failures += not ok
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="+", help="case names; 'list' lists them")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--compiler", help="kiln-compile to use (default: PATH)")
    parser.add_argument("--runner", help="kiln-run to use (default: PATH)")
    parser.add_argument("--compile-flag", action="append", default=[],
                        help="extra kiln-compile flag (repeatable)")
    parser.add_argument("--negate", action="store_true",
                        help="flip the references' sign (must fail)")
    args = parser.parse_args()
    if args.compiler:
        testing.TOOLS["kiln-compile"] = args.compiler
    if args.runner:
        testing.TOOLS["kiln-run"] = args.runner
    if args.cases == ["list"]:
        print("\n".join(sorted(CASES)))
        return 0
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        print(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
        return 2
    failures = 0
    for name in args.cases:
        try:
            failures += run_case(CASES[name], args.workdir, args.negate,
                                 args.compile_flag)
        except testing.ToolError as error:
            print(f"[{name}] {error}")
            failures += 1
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
