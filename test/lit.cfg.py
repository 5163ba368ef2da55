# -*- Python -*-
# lit configuration of the Kiln regression tests.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "Inputs", "lit.local.cfg"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
python = config.python_executable
if config.kiln_asan_runtime:
    # An ASan build (scripts/test-sanitizers): the runtime library that
    # Python loads through ctypes is instrumented, python3 is not, so
    # python3 preloads the shared ASan runtime; the interpreter's own
    # allocations at exit are no Kiln leaks.
    asan_options = os.environ.get("ASAN_OPTIONS", "")
    python = (f"env LD_PRELOAD={config.kiln_asan_runtime} "
              f"ASAN_OPTIONS={asan_options}{':' if asan_options else ''}detect_leaks=0 "
              f"{python}")
config.substitutions.append(("%python", python))
config.substitutions.append(("%kiln_src_root", config.kiln_src_root))
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
config.environment["PYTHONPATH"] = os.path.join(config.kiln_src_root, "python")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
config.environment["KILN_TOOLS_DIR"] = config.kiln_tools_dir

tools = [
    ToolSubst("kiln-opt", unresolved="fatal"),
    ToolSubst("kiln-run", unresolved="ignore"),
    ToolSubst("kiln-compile", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, [config.kiln_tools_dir, config.llvm_tools_dir])

# GPU features: present only where ptxas / a CUDA driver are.
ptxas = ("/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas")
         else shutil.which("ptxas"))
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
if config.enable_cuda_runtime_tests and os.path.exists("/dev/nvidia0"):
    config.available_features.add("cuda-gpu")
