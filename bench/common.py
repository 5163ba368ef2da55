"""Set-up shared by the benchmarks in bench/.

Importing this module, before numpy or torch, configures the peers as
shared/BENCHMARKING.md asks: OpenMP threads of PyTorch and OpenBLAS sleep
when idle (OMP_WAIT_POLICY=PASSIVE) and OpenBLAS is told its core type. It
also puts Kiln's python/ on the path and says where Kiln's tools are.
"""

import os
import sys


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].split() for line in f
                         if line.startswith("flags")), [])
    except OSError:
        return []


os.environ.setdefault("OPENBLAS_CORETYPE",
                      "SkylakeX" if "avx512f" in _cpu_flags() else "Haswell")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

# kiln-run gets libomp's defaults; PASSIVE is the peers' setting.
kiln_env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}


def tool(name):
    """The path of Kiln tool `name`: in $KILN_TOOLS_DIR if set, else in the
    bin/ of $KILN_BUILD_DIR (default build/)."""
    if "KILN_TOOLS_DIR" in os.environ:
        return os.path.join(os.environ["KILN_TOOLS_DIR"], name)
    build = os.environ.get("KILN_BUILD_DIR", os.path.join(ROOT, "build"))
    return os.path.join(build, "bin", name)


def kiln_run_ms(model, inputs, threads, warmup, iterations, output_dir, env=None):
    """The median ms per call that kiln-run reports for `model` on `inputs`
    (input name -> .npy path) after `warmup` calls; the outputs go to
    `output_dir`. `env` defaults to kiln_env."""
    import re
    import subprocess
    command = [tool("kiln-run"), model, "--threads", str(threads), "--warmup", str(warmup),
               "--iterations", str(iterations), "--output-dir", output_dir]
    for name, path in inputs.items():
        command += ["--input", f"{name}={path}"]
    run = subprocess.run(command, check=True, capture_output=True, text=True,
                         env=kiln_env if env is None else env)
    return float(re.search(r"median ([0-9.]+) ms", run.stdout + run.stderr).group(1))


def kiln_generate(model, prompt_ids, tokens, threads):
    """Greedy `kiln-run --generate` of `tokens` tokens after `prompt_ids`:
    (the generated ids, kiln-run's median decode ms/token, or None when it
    reports none)."""
    import re
    import subprocess
    run = subprocess.run(
        [tool("kiln-run"), model, "--threads", str(threads), "--generate",
         str(tokens), "--prompt-ids", ",".join(map(str, prompt_ids))],
        check=True, capture_output=True, text=True, env=kiln_env)
    ids = [int(t) for t in re.findall(r"-?\d+", run.stdout.strip().splitlines()[-1])]
    step = re.search(r"median ([0-9.]+) ms/token", run.stderr)
    return ids, float(step.group(1)) if step else None


def torch_median_ms(fn, warmup, iterations):
    """The median wall ms of `fn()` over `iterations` calls after `warmup`,
    with autograd off (PyTorch is imported only by the scripts that time it)."""
    import statistics
    import time
    import torch
    samples = []
    with torch.no_grad():
        for i in range(warmup + iterations):
            start = time.perf_counter()
            fn()
            if i >= warmup:
                samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)
