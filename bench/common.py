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
