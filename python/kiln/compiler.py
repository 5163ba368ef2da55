"""kiln.compile: runs the kiln-compile tool from Python.

    model = kiln.compile("hf/llama", "out/llama")            # -> kiln.Model
    path = kiln.compile("m.mlir", "out/m", weights="w.safetensors",
                        cpu="generic", single_threaded=True, load=False)
    ir = kiln.compile("hf/llama", emit="kiln")               # -> str
"""

import os
import subprocess
import sys
import threading

from kiln import errors, locate

TARGETS = ("cpu",)


def flag_arguments(flags):
    """kiln-compile arguments of keyword flags: name=True -> --name,
    name=value -> --name=value (underscores become dashes), False/None are
    left out; O (or opt_level) = n -> -On."""
    args = []
    for key, value in flags.items():
        if value is None or value is False:
            continue
        if key in ("O", "opt_level"):
            args.append(f"-O{int(value)}")
            continue
        name = "--" + key.replace("_", "-")
        args.append(name if value is True else f"{name}={value}")
    return args


def compile(source, out_dir=None, target="cpu", weights=None, quiet=False, load=True,
            threads=0, timeout=None, **flags):
    """Compiles a Hugging Face folder (config.json + safetensors) or a
    kiln-dialect .mlir file (with `weights`: a .safetensors file, an index or
    a folder) into `out_dir` with kiln-compile.

    target: "cpu" (the only one kiln-compile implements today). flags: any
    other kiln-compile option as a keyword, e.g. cpu="generic",
    single_threaded=True, O=2, linker="clang-22" (see flag_arguments).
    kiln-compile's progress goes to sys.stderr as it runs unless quiet=True.

    Returns the loaded kiln.Model (kiln.load(out_dir, threads=threads)), or,
    with load=False, out_dir as a str. With emit="kiln"|"linalg"|"llvm" the
    IR after that stage is returned as a str and nothing is written (out_dir
    may be None). Raises CompileError carrying kiln-compile's diagnostics
    when it fails (or runs longer than `timeout` seconds, when given: it is
    then killed), ModelNotFound when `source` does not exist, ToolNotFound
    when kiln-compile cannot be found (kiln.locate)."""
    source = os.fspath(source)
    if target not in TARGETS:
        raise errors.InvalidArgument(
            f"target {target!r} is not supported; kiln-compile targets {', '.join(TARGETS)}")
    if not os.path.exists(source):
        raise errors.ModelNotFound(f"{source}: no such file or directory")
    emit = flags.pop("emit", None)
    if out_dir is None and not emit:
        raise errors.InvalidArgument("kiln.compile needs out_dir (or emit=...)")
    command = [locate.find_tool("kiln-compile"), source]
    if out_dir is not None and not emit:
        command += ["-o", os.fspath(out_dir)]
    if weights is not None:
        command += ["--weights", os.fspath(weights)]
    if emit:
        command.append(f"--emit={emit}")
    if quiet:
        command.append("--quiet")
    command += flag_arguments(flags)

    if emit:
        try:
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise _timeout(command, timeout, e.stderr or "") from None
        if result.returncode != 0:
            raise _error(command, result.returncode, result.stderr)
        if result.stderr and not quiet:
            sys.stderr.write(result.stderr)
        return result.stdout

    lines = []

    def pump(stream):
        for line in stream:
            lines.append(line)
            if not quiet:
                sys.stderr.write(line)
                sys.stderr.flush()

    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        reader = threading.Thread(target=pump, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            reader.join(5)
            raise _timeout(command, timeout, "".join(lines)) from None
        reader.join()
    if returncode != 0:
        raise _error(command, returncode, "".join(lines))
    out_dir = os.fspath(out_dir)
    if not load:
        return out_dir
    from kiln import runtime
    return runtime.load(out_dir, threads=threads)


def _timeout(command, timeout, output):
    return errors.CompileError(f"kiln-compile did not finish within {timeout} s and was "
                               f"killed", command=command, returncode=None, output=output)


def _error(command, returncode, output):
    # The diagnostics, without the "[kiln-compile] stage ... 0.01 s" progress.
    lines = [l for l in output.splitlines() if not l.startswith("[kiln-compile]")]
    text = "\n".join(lines).strip() or output.strip()
    if not text:
        text = f"kiln-compile exited with status {returncode} and printed nothing"
    return errors.CompileError(text, command=command, returncode=returncode, output=output)
