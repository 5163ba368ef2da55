"""`python3 -m kiln compile|run|bench ...`: the C++ tools' workflows in Python.

    python3 -m kiln compile SRC -o OUT [--weights W] [--cpu CPU] [-O N]
                            [--single-threaded] [--linker CC] [--emit STAGE] [--quiet]
    python3 -m kiln run OUT [--list] [--entry E] [--input NAME=FILE.npy ...]
                        [--random-inputs --dim NAME=N ...] [--output-dir DIR]
                        [--threads N] [--warmup N --iterations N]
                        [--generate N --prompt-ids 1,2,3 [--capacity C]]
    python3 -m kiln bench OUT [--entry E] [--input ...] [--dim batch=1 --dim seq=128]
                          [--warmup 3] [--iterations 20] [--threads N]
                          [--torch [HF_DIR]] [--generate N [--prompt-len L]]

`run` prints one summary line per output (dtype, shape, mean, std, min,
max) unless --output-dir is given, where it writes NAME.npy per output.
`bench` times the entry (min/median/mean ms over --iterations after
--warmup) on the given inputs, random ones for the rest, and with --torch
runs the kiln.torch_models module of the Hugging Face folder (default: the
folder the model was compiled from, as model.json records) on the same
inputs in the same process: its latency, the speed-up and the max abs
difference of the outputs. Exit status 1 on any error (the message goes to
stderr).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

from kiln import compiler, errors, runtime


def _parse_pairs(items, what, convert=str):
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise errors.InvalidArgument(f"{what} must be NAME=VALUE, got {item!r}")
        try:
            out[name] = convert(value)
        except ValueError:
            raise errors.InvalidArgument(f"{what} {item!r}: bad value {value!r}") from None
    return out


def _ids(text):
    try:
        ids = [int(t) for t in text.split(",")]
    except ValueError:
        raise errors.InvalidArgument(f"--prompt-ids must be comma-separated integers, "
                                     f"got {text!r}") from None
    return ids


def _vocab(entry):
    """The static last dim of a 'logits' output, if any."""
    for info in entry.outputs:
        if info.name == "logits" and info.shape and isinstance(info.shape[-1], int):
            return info.shape[-1]
    return None


def make_inputs(model, entry, given, dims, int_range=(0, 100), seed=0):
    """The entry's inputs: `given` (name -> array) plus generated ones:
    attention_mask ones, token_type_ids / positions zeros, input_ids in
    [0, vocab) (from the logits' static width, else int_range), other
    integers in int_range, floats N(0, 1). Dynamic dims come from `dims`
    (name -> size), then from the given arrays."""
    rng = np.random.default_rng(seed)
    bound = dict(dims)
    for info in entry.inputs:
        if info.name in given:
            for want, got in zip(info.shape, np.shape(given[info.name])):
                if isinstance(want, str):
                    bound.setdefault(want, got)
    inputs = dict(given)
    for info in entry.inputs:
        if info.name in inputs:
            continue
        shape = []
        for d in info.shape:
            if isinstance(d, int):
                shape.append(d)
            elif d in bound:
                shape.append(bound[d])
            else:
                raise errors.InvalidArgument(
                    f"input '{info.name}' {info.shape_string()}: give the size of "
                    f"'{d or '?'}' with --dim {d or 'NAME'}=N (or pass the input)")
        if info.name == "attention_mask":
            value = np.ones(shape, dtype=info.dtype)
        elif info.name in ("token_type_ids", "positions"):
            value = np.zeros(shape, dtype=info.dtype)
        elif info.dtype.kind in "iu":
            lo, hi = int_range
            if info.name == "input_ids" and _vocab(entry):
                lo, hi = 0, _vocab(entry)
            value = rng.integers(lo, hi, shape).astype(info.dtype)
        elif info.dtype.kind == "b":
            value = rng.integers(0, 2, shape).astype(bool)
        else:
            value = rng.standard_normal(shape).astype(np.float32)
            if info.kiln_dtype == "BF16":
                from kiln import safetensors_io
                value = safetensors_io.to_bfloat16_bits(value)
            else:
                value = value.astype(info.dtype)
        inputs[info.name] = value
    return inputs


def _time(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    millis = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        millis.append((time.perf_counter() - start) * 1e3)
    return millis


def _latency(millis):
    return (f"min {min(millis):.3f} ms, median {statistics.median(millis):.3f} ms, "
            f"mean {statistics.fmean(millis):.3f} ms")


def _summary(name, array):
    line = f"{name}: {array.dtype}{list(array.shape)}"
    if array.size and array.dtype.kind in "fiub":
        values = array.astype(np.float64)
        line += (f" mean {values.mean():.6g} std {values.std():.6g} "
                 f"min {values.min():.6g} max {values.max():.6g}")
    return line


def _load_inputs(args):
    given = {}
    for name, path in _parse_pairs(args.input, "--input").items():
        try:
            given[name] = np.load(path)
        except (OSError, ValueError) as e:
            raise errors.IOFailure(f"--input {name}={path}: {e}") from None
    return given


def _entry_name(model, name):
    if name:
        return name
    return "forward" if "forward" in model.entries else next(iter(model.entries))


def cmd_compile(args):
    flags = {"cpu": args.cpu, "single_threaded": args.single_threaded,
             "linker": args.linker}
    if args.O is not None:
        flags["O"] = args.O
    if args.emit:
        sys.stdout.write(compiler.compile(args.source, args.output, weights=args.weights,
                                          quiet=args.quiet, emit=args.emit, **flags))
        return 0
    if not args.output:
        raise errors.InvalidArgument("compile needs -o OUT (or --emit)")
    compiler.compile(args.source, args.output, weights=args.weights, quiet=args.quiet,
                     load=False, **flags)
    return 0


def _generate(model, args):
    prompt = _ids(args.prompt_ids)
    capacity = args.capacity if args.capacity is not None else len(prompt) + args.generate
    with model.generator(1, capacity) as gen:
        start = time.perf_counter()
        logits = gen.prefill(prompt)
        prefill_ms = (time.perf_counter() - start) * 1e3
        tokens, steps = [], []
        for i in range(args.generate):
            token = int(np.argmax(logits[0]))
            tokens.append(token)
            if i == args.generate - 1:
                break
            start = time.perf_counter()
            logits = gen.step(token)
            steps.append((time.perf_counter() - start) * 1e3)
    print(" ".join(str(t) for t in tokens), flush=True)
    print(f"kiln: prefill of {len(prompt)} tokens: {prefill_ms:.3f} ms", file=sys.stderr)
    if steps:
        print(f"kiln: decode of {len(steps)} tokens: median {statistics.median(steps):.3f} "
              f"ms/token, {1e3 * len(steps) / sum(steps):.1f} tokens/s", file=sys.stderr)
    return 0


def cmd_run(args):
    model = runtime.load(args.model, threads=args.threads)
    if args.list:
        print(model.signature())
        return 0
    if args.generate:
        if not args.prompt_ids:
            raise errors.InvalidArgument("--generate needs --prompt-ids")
        return _generate(model, args)
    entry = model.entry(_entry_name(model, args.entry))
    given = _load_inputs(args)
    dims = _parse_pairs(args.dim, "--dim", int)
    if args.random_inputs:
        inputs = make_inputs(model, entry, given, dims, _range(args.int_range), args.seed)
    else:
        inputs = given
    outputs = model.run(entry.name, **inputs)
    if args.iterations:
        millis = _time(lambda: model.run(entry.name, **inputs), args.warmup, args.iterations)
        print(f"latency over {args.iterations} iterations: {_latency(millis)}")
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        for name, array in outputs.items():
            np.save(os.path.join(args.output_dir, name + ".npy"), array)
            print(os.path.join(args.output_dir, name + ".npy"))
    else:
        for name, array in outputs.items():
            print(_summary(name, array))
    return 0


def _range(text):
    try:
        lo, hi = (int(v) for v in text.split(","))
    except ValueError:
        raise errors.InvalidArgument(f"--int-range must be LO,HI, got {text!r}") from None
    if hi <= lo:
        raise errors.InvalidArgument(f"--int-range {text}: HI must exceed LO")
    return lo, hi


def _torch_folder(model, arg):
    if arg != "auto":
        return arg
    flags = model.manifest.get("compile_flags") or []
    source = flags[0] if flags else None
    if source and os.path.isfile(os.path.join(source, "config.json")):
        return source
    raise errors.InvalidArgument(
        f"{model.path} was not compiled from a Hugging Face folder that still exists "
        f"({source}); give it: --torch HF_DIR")


def cmd_bench(args):
    model = runtime.load(args.model, threads=args.threads)
    dims = {"batch": 1, "seq": 128}
    dims.update(_parse_pairs(args.dim, "--dim", int))
    entry = model.entry(_entry_name(model, args.entry))
    inputs = make_inputs(model, entry, _load_inputs(args), dims, _range(args.int_range),
                         args.seed)
    shapes = ", ".join(f"{n} {list(np.shape(v))}" for n, v in inputs.items())
    threads = args.threads or os.cpu_count()
    print(f"{model.path} entry '{entry.name}': {shapes}; {threads} threads")
    outputs = model.run(entry.name, **inputs)
    millis = _time(lambda: model.run(entry.name, **inputs), args.warmup, args.iterations)
    print(f"kiln:    {_latency(millis)}")
    if args.torch:
        import torch
        from kiln import torch_models
        folder = _torch_folder(model, args.torch)
        torch.set_num_threads(threads)
        module = torch_models.from_folder(folder)
        tensors = {n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in inputs.items()}
        with torch.no_grad():
            ref = module(**tensors).numpy()
            torch_millis = _time(lambda: module(**tensors), args.warmup, args.iterations)
        got = next(iter(outputs.values()))
        print(f"torch:   {_latency(torch_millis)} ({folder}, kiln.torch_models, "
              f"{torch.get_num_threads()} threads)")
        print(f"speed-up (median): {statistics.median(torch_millis) / statistics.median(millis):.2f}x;"
              f" max |kiln - torch| = {float(np.abs(got.astype(np.float64) - ref).max()):.3e}")
    if args.generate:
        length = args.prompt_len
        vocab = _vocab(model.entries.get("decode_step", entry)) or 100
        prompt = np.random.default_rng(args.seed).integers(0, vocab, (dims["batch"], length))
        with model.generator(dims["batch"], length + args.generate) as gen:
            for _ in range(max(1, args.warmup)):
                gen.greedy(prompt, 2)
            start = time.perf_counter()
            gen.prefill(prompt)
            prefill = (time.perf_counter() - start) * 1e3
            start = time.perf_counter()
            gen.greedy(prompt, args.generate)
            total = (time.perf_counter() - start) * 1e3
        decode = max(total - prefill, 1e-9)
        print(f"generate: prefill of {length} tokens {prefill:.3f} ms; greedy "
              f"{args.generate} tokens {total:.3f} ms in all, "
              f"{1e3 * max(args.generate - 1, 1) / decode:.1f} tokens/s after the prefill "
              f"(batch {dims['batch']})")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python3 -m kiln",
                                     description="Compile, run and benchmark Kiln models.")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="kiln-compile a Hugging Face folder or .mlir file")
    c.add_argument("source", help="Hugging Face folder or model.mlir")
    c.add_argument("-o", dest="output", help="output directory")
    c.add_argument("--weights", help="weights of a .mlir model")
    c.add_argument("--cpu", help="host (default), generic, or an LLVM CPU name")
    c.add_argument("-O", type=int, choices=range(4), help="LLVM optimization level")
    c.add_argument("--single-threaded", action="store_true", help="no OpenMP")
    c.add_argument("--linker", help="C compiler driver that links model.so")
    c.add_argument("--emit", choices=("kiln", "linalg", "llvm"), help="print the IR, stop")
    c.add_argument("--quiet", action="store_true", help="no progress output")
    c.set_defaults(fn=cmd_compile)

    def common(p):
        p.add_argument("model", help="directory kiln-compile wrote")
        p.add_argument("--entry", help="entry to run (default: forward, else the first)")
        p.add_argument("--input", action="append", metavar="NAME=FILE.npy")
        p.add_argument("--dim", action="append", metavar="NAME=SIZE",
                       help="size of a dynamic dim for generated inputs")
        p.add_argument("--int-range", default="0,100", metavar="LO,HI",
                       help="range of generated integer inputs (input_ids: the vocab)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=0, help="0: all cores")

    r = sub.add_parser("run", help="run an entry on .npy inputs, or generate")
    common(r)
    r.add_argument("--list", action="store_true", help="print the signatures")
    r.add_argument("--random-inputs", action="store_true",
                   help="generate the inputs not given by --input")
    r.add_argument("--output-dir", help="write NAME.npy per output here")
    r.add_argument("--warmup", type=int, default=0)
    r.add_argument("--iterations", type=int, default=0)
    r.add_argument("--generate", type=int, default=0, metavar="N",
                   help="greedy-decode N tokens (batch 1)")
    r.add_argument("--prompt-ids", help="comma-separated prompt ids for --generate")
    r.add_argument("--capacity", type=int, help="KV-cache positions (default prompt + N)")
    r.set_defaults(fn=cmd_run)

    b = sub.add_parser("bench", help="latency of an entry (and of PyTorch)")
    common(b)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--iterations", type=int, default=20)
    b.add_argument("--torch", nargs="?", const="auto", metavar="HF_DIR",
                   help="also time kiln.torch_models on the same inputs "
                        "(default folder: the one the model was compiled from)")
    b.add_argument("--generate", type=int, default=0, metavar="N",
                   help="also time greedy generation of N tokens")
    b.add_argument("--prompt-len", type=int, default=16)
    b.set_defaults(fn=cmd_bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if getattr(args, "iterations", 1) < 0 or getattr(args, "warmup", 0) < 0:
        print("python3 -m kiln: --warmup and --iterations must be >= 0", file=sys.stderr)
        return 1
    if args.command == "bench" and args.iterations < 1:
        print("python3 -m kiln: bench needs --iterations >= 1", file=sys.stderr)
        return 1
    try:
        return args.fn(args)
    except errors.CompileError as e:
        # kiln-compile already printed its diagnostics unless --quiet.
        if args.command == "compile" and not args.quiet:
            return 1
        print(f"python3 -m kiln: {e}", file=sys.stderr)
        return 1
    except errors.KilnError as e:
        print(f"python3 -m kiln {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
