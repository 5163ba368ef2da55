"""`python3 -m kiln compile|run|bench` and kiln.compile's options."""

import json
import os
import subprocess
import sys

import numpy as np

import kiln
from kiln import compiler

PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def kiln_cli(*args):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    return subprocess.run([sys.executable, "-m", "kiln", *map(str, args)], env=env,
                          capture_output=True, text=True)


def test_run_list_and_npy_io(compiled, tmp_path):
    m = compiled("llama")
    result = kiln_cli("run", m.out_dir, "--list")
    assert result.returncode == 0, result.stderr
    assert "entry 'decode_step'" in result.stdout
    assert "input  positions: i64[batch]" in result.stdout
    ids = np.random.default_rng(0).integers(0, 1000, (2, 7)).astype(np.int64)
    mask = np.ones_like(ids)
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "mask.npy", mask)
    result = kiln_cli("run", m.out_dir, "--input", f"input_ids={tmp_path / 'ids.npy'}",
                      "--input", f"attention_mask={tmp_path / 'mask.npy'}",
                      "--output-dir", tmp_path / "out", "--threads", 1)
    assert result.returncode == 0, result.stderr
    got = np.load(tmp_path / "out" / "logits.npy")
    np.testing.assert_allclose(got, m.model.forward(ids, mask)["logits"], rtol=0, atol=1e-5)
    # Without --output-dir: one summary line per output.
    result = kiln_cli("run", m.out_dir, "--random-inputs", "--dim", "batch=1",
                      "--dim", "seq=5", "--iterations", 2)
    assert result.returncode == 0, result.stderr
    assert "logits: float32[1, 5, 1000] mean" in result.stdout
    assert "latency over 2 iterations: min" in result.stdout


def test_run_generate(compiled):
    m = compiled("gpt2")
    result = kiln_cli("run", m.out_dir, "--generate", 8, "--prompt-ids", "300,2,77")
    assert result.returncode == 0, result.stderr
    want = m.model.generate([300, 2, 77], 8)
    assert result.stdout.split() == [str(t) for t in want]
    assert "kiln: decode of 7 tokens: median" in result.stderr


def test_run_errors(compiled, tmp_path):
    m = compiled("llama")
    result = kiln_cli("run", tmp_path / "nope")
    assert result.returncode == 1
    assert "ModelNotFound" in result.stderr and "no such directory" in result.stderr
    np.save(tmp_path / "ids.npy", np.zeros((1, 3), np.int32))
    result = kiln_cli("run", m.out_dir, "--input", f"input_ids={tmp_path / 'ids.npy'}",
                      "--random-inputs", "--dim", "batch=1", "--dim", "seq=3")
    assert result.returncode == 1 and "DTypeMismatch" in result.stderr
    result = kiln_cli("run", m.out_dir, "--entry", "nope")
    assert result.returncode == 1 and "EntryNotFound" in result.stderr


def test_bench_with_torch(compiled):
    m = compiled("bert")
    result = kiln_cli("bench", m.out_dir, "--dim", "batch=2", "--dim", "seq=16",
                      "--warmup", 1, "--iterations", 2, "--threads", 1, "--torch")
    assert result.returncode == 0, result.stderr
    assert "kiln:    min" in result.stdout
    assert "torch:   min" in result.stdout
    line = [l for l in result.stdout.splitlines() if "max |kiln - torch|" in l][0]
    assert float(line.rsplit("=", 1)[1]) <= 1e-3


def test_bench_generate(compiled):
    m = compiled("mamba")
    result = kiln_cli("bench", m.out_dir, "--dim", "seq=8", "--warmup", 1,
                      "--iterations", 1, "--generate", 8, "--prompt-len", 4)
    assert result.returncode == 0, result.stderr
    assert "generate: prefill of 4 tokens" in result.stdout and "tokens/s" in result.stdout


def test_compile_cli_and_options(compiled, tmp_path, capfd):
    m = compiled("mamba")
    # --emit prints the imported IR and writes nothing.
    result = kiln_cli("compile", m.folder, "--emit", "kiln")
    assert result.returncode == 0, result.stderr
    assert "kiln.embedding" in result.stdout and "func.func @decode_step" in result.stdout
    text = kiln.compile(m.folder, emit="kiln", quiet=True)
    assert text == result.stdout
    # A failing compile: exit 1, the tool's message on stderr.
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{")
    result = kiln_cli("compile", tmp_path / "bad", "-o", tmp_path / "out")
    assert result.returncode == 1 and "no model.safetensors" in result.stderr
    # Progress goes to stderr; load=False returns the path; flags reach
    # kiln-compile (model.json records its command line).
    path = kiln.compile(m.folder, tmp_path / "generic", load=False, cpu="generic",
                        single_threaded=True, O=2, timeout=300)
    assert path == str(tmp_path / "generic")
    assert "[kiln-compile] wrote" in capfd.readouterr().err
    with open(os.path.join(path, "model.json")) as f:
        flags = json.load(f)["compile_flags"]
    assert "--cpu=generic" in flags and "--single-threaded" in flags and "-O2" in flags
    with kiln.load(path) as model:
        ids = np.array([[4, 5, 6]], dtype=np.int64)
        mask = np.ones_like(ids)
        np.testing.assert_allclose(model.forward(ids, mask)["logits"],
                                   m.model.forward(ids, mask)["logits"], rtol=0, atol=1e-3)


def test_flag_arguments():
    assert compiler.flag_arguments(dict(cpu="generic", single_threaded=True, quiet=False,
                                        linker=None, O=1)) == [
        "--cpu=generic", "--single-threaded", "-O1"]
