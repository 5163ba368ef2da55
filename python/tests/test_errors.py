"""Error paths raise the documented exceptions (docs/Python.md, kiln.errors)."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import kiln

IDS = np.array([[1, 2, 3]], dtype=np.int64)
MASK = np.ones((1, 3), dtype=np.int64)
PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def test_wrong_dtype(compiled):
    model = compiled("llama").model
    with pytest.raises(kiln.DTypeMismatch, match=r"'input_ids' has dtype int32 but the "
                                                  r"entry expects I64") as e:
        model.forward(input_ids=IDS.astype(np.int32), attention_mask=MASK)
    assert isinstance(e.value, TypeError) and e.value.status == 7
    with pytest.raises(kiln.DTypeMismatch):
        model.forward(input_ids=IDS.astype(np.float32), attention_mask=MASK)
    with pytest.raises(kiln.DTypeMismatch):       # lists convert only within a kind
        model.forward(input_ids=[[1.5, 2.0]], attention_mask=[[1, 1]])


def test_wrong_rank_and_shape(compiled):
    model = compiled("llama").model
    with pytest.raises(kiln.ShapeMismatch, match=r"rank 1 .* expects rank 2 \[batch, seq\]") as e:
        model.forward(input_ids=IDS[0], attention_mask=MASK)
    assert isinstance(e.value, ValueError) and e.value.status == 6
    with pytest.raises(kiln.ShapeMismatch, match="seq = 2"):
        model.forward(input_ids=IDS, attention_mask=MASK[:, :2])
    k = np.zeros((2, 1, 8, 2, 31), np.float32)       # head_dim is 32
    with pytest.raises(kiln.ShapeMismatch, match="dim 4 must be 32"):
        model.prefill(input_ids=IDS, key_cache=k, value_cache=k)


def test_missing_and_unknown_inputs(compiled):
    model = compiled("llama").model
    with pytest.raises(kiln.MissingInput, match="missing input 'attention_mask'") as e:
        model.forward(input_ids=IDS)
    assert isinstance(e.value, kiln.InvalidArgument) and isinstance(e.value, ValueError)
    with pytest.raises(kiln.UnknownInput, match="no input 'position_ids'"):
        model.forward(input_ids=IDS, attention_mask=MASK, position_ids=IDS)
    with pytest.raises(kiln.InvalidArgument, match="given twice"):
        model.forward(IDS, MASK, input_ids=IDS)
    with pytest.raises(kiln.InvalidArgument, match="takes 2 inputs"):
        model.forward(IDS, MASK, MASK)


def test_unknown_entry(compiled):
    model = compiled("bert").model
    with pytest.raises(kiln.EntryNotFound, match="no entry 'prefill'; its entries are forward"):
        model.run("prefill", input_ids=IDS)
    with pytest.raises(kiln.NotFound):
        model.entry("decode")
    with pytest.raises(AttributeError):
        model.decode_step
    assert not hasattr(model, "decode_step")


def test_missing_directory(tmp_path, compiled):
    with pytest.raises(kiln.ModelNotFound, match="no such directory") as e:
        kiln.load(tmp_path / "nope")
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, kiln.NotFound)
    # A Hugging Face folder rather than a compiled one.
    with pytest.raises(kiln.ModelNotFound, match="compile it with kiln.compile"):
        kiln.load(compiled("bert").folder)
    with pytest.raises(kiln.InvalidArgument):
        kiln.load(compiled("bert").out_dir, threads=-1)


def test_corrupt_weights_carry_runtime_message(tmp_path, compiled):
    copy = tmp_path / "model"
    shutil.copytree(compiled("mamba").out_dir, copy)
    weights = copy / "model.weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(kiln.KilnError) as e:
        kiln.load(copy)
    assert isinstance(e.value, (kiln.CorruptModel, kiln.IOFailure, kiln.VersionMismatch))
    assert "model.weights.safetensors" in str(e.value)


def test_out_buffer_errors(compiled):
    model = compiled("llama").model
    good = np.zeros((1, 3, 1000), np.float32)
    with pytest.raises(kiln.ShapeMismatch):
        model.forward(IDS, MASK, out={"logits": np.empty((1, 2, 1000), np.float32)})
    with pytest.raises(kiln.DTypeMismatch):
        model.forward(IDS, MASK, out={"logits": good.astype(np.float64)})
    with pytest.raises(kiln.InvalidArgument, match="no output"):
        model.forward(IDS, MASK, out={"hidden": good})
    k = np.zeros((2, 1, 8, 2, 32), np.float32)
    with pytest.raises(kiln.InvalidArgument, match="overlaps an input"):
        model.prefill(IDS, k, k.copy(), out={"key_cache": k})


def test_compile_errors(tmp_path, compiled):
    with pytest.raises(kiln.ModelNotFound):
        kiln.compile(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(kiln.InvalidArgument, match="target 'cuda'"):
        kiln.compile(tmp_path, tmp_path / "out", target="cuda")
    folder = tmp_path / "t5"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(kiln.CompileError, match="no model.safetensors or model.safetensors.index.json") as e:
        kiln.compile(folder, tmp_path / "out", quiet=True)
    assert e.value.returncode != 0 and "kiln-compile" in e.value.command[0]
    assert not e.value.message.startswith("[kiln-compile]")
    with pytest.raises(kiln.CompileError, match="did not finish within 0.05 s"):
        kiln.compile(compiled("mamba").folder, tmp_path / "slow", quiet=True, timeout=0.05)


def _python(code, **env):
    full = dict(os.environ, PYTHONPATH=PYTHON_DIR, **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True)


def test_runtime_library_not_found(tmp_path):
    result = _python("import kiln\ntry:\n    kiln.runtime.library()\n"
                     "except kiln.RuntimeLibraryNotFound as e:\n    print('ERR', e)\n",
                     KILN_RUNTIME_LIB=str(tmp_path / "libkiln_runtime.so"))
    assert "ERR KILN_RUNTIME_LIB=" in result.stdout and "does not exist" in result.stdout
    # Nothing anywhere: the message lists every place looked at.
    code = ("import kiln, kiln.locate as l\n"
            f"l._REPO_ROOT = {str(tmp_path)!r}\n"
            "try:\n    kiln.load(%r)\n"
            "except kiln.RuntimeLibraryNotFound as e:\n    print('ERR', e)\n") % str(tmp_path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("KILN_TOOLS_DIR", "KILN_BUILD_DIR", "KILN_RUNTIME_LIB")}
    env.update(PYTHONPATH=PYTHON_DIR, PATH="/usr/bin:/bin")
    (tmp_path / "model.so").write_text("")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    assert "ERR cannot find libkiln_runtime.so; looked at:" in result.stdout, result
    assert os.path.join(str(tmp_path), "build", "lib", "libkiln_runtime.so") in result.stdout
    assert "KILN_RUNTIME_LIB" in result.stdout
