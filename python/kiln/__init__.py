"""Kiln from Python: compile models, load and run them, export from PyTorch.

    import kiln
    model = kiln.compile("hf/llama", "out/llama")          # kiln-compile
    model = kiln.load("out/llama", threads=2)               # ctypes binding
    logits = model.forward(input_ids=ids, attention_mask=mask)["logits"]
    tokens = model.generate([1, 2, 3], max_new_tokens=16)
    kiln.export(torch_module, {"input_ids": ids}, "hf/mine")

`python3 -m kiln compile|run|bench ...` wraps the same calls. Reference:
docs/Python.md. Importing kiln needs numpy only; kiln.export and
kiln.torch_models need torch; kiln.load needs libkiln_runtime.so (see
kiln.locate) and kiln.compile the kiln-compile tool.

Modules: runtime (the binding), compiler, exporter, torch_models, errors,
locate, cli; and the test utilities safetensors_io, reference, bundled,
models, testing.
"""

from kiln.errors import (  # noqa: F401
    CompileError, CorruptModel, DTypeMismatch, EntryNotFound, ExecutionError,
    ExportError, InvalidArgument, IOFailure, KilnError, MissingInput, ModelNotFound,
    NotFound, OutOfMemory, RuntimeLibraryNotFound, ShapeMismatch, ToolNotFound,
    UnknownInput, VersionMismatch)
from kiln.runtime import Entry, Generator, Model, TensorInfo, load  # noqa: F401
from kiln.compiler import compile  # noqa: F401,A001
from kiln.exporter import export  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "load", "compile", "export", "Model", "Entry", "Generator", "TensorInfo",
    "KilnError", "InvalidArgument", "MissingInput", "UnknownInput", "NotFound",
    "ModelNotFound", "EntryNotFound", "RuntimeLibraryNotFound", "ToolNotFound",
    "IOFailure", "CorruptModel", "VersionMismatch", "ShapeMismatch", "DTypeMismatch",
    "OutOfMemory", "ExecutionError", "CompileError", "ExportError",
]
