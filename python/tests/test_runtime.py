"""kiln.load / Model.run on the bundled models against kiln.reference
(float64 PyTorch), max |kiln - ref| <= ATOL = 1e-3 (absolute)."""

import threading

import numpy as np
import pytest

import kiln
from conftest import ATOL, FAMILIES, max_abs_diff

torch = pytest.importorskip("torch")
from kiln import reference  # noqa: E402


def _inputs(family, config, batch=2, seq=17, lengths=(17, 9), seed=0):
    """Right-padded ids/masks of the family's forward entry."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, config["vocab_size"], (batch, seq)).astype(np.int64)
    mask = np.zeros((batch, seq), dtype=np.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    inputs = {"input_ids": ids, "attention_mask": mask}
    if family == "bert":
        inputs["token_type_ids"] = rng.integers(0, 2, (batch, seq)).astype(np.int64)
    return inputs


@pytest.mark.parametrize("family", FAMILIES)
def test_forward_matches_reference(compiled, family):
    m = compiled(family)
    for seq, lengths in ((1, (1, 1)), (17, (17, 9))):
        inputs = _inputs(family, m.config, seq=seq, lengths=lengths)
        out = m.model.forward(**inputs)
        name = "last_hidden_state" if family == "bert" else "logits"
        assert list(out) == [name]
        ref = reference.forward(m.config, m.state, **inputs).numpy()
        if family == "bert":
            # kiln-compile removes an encoder's padding: padded rows are zero.
            ref = ref * (inputs["attention_mask"] != 0)[..., None]
        err = max_abs_diff(out[name], ref)
        assert err <= ATOL, f"{family} seq {seq}: max abs err {err:.3e} > {ATOL}"
        assert out[name].dtype == np.float32


@pytest.mark.parametrize("family", FAMILIES)
def test_signatures(compiled, family):
    model = compiled(family).model
    expected = {"bert": ["forward"]}.get(family, ["forward", "prefill", "decode_step"])
    assert list(model.entries) == expected
    forward = model.entries["forward"]
    assert forward.input_names[0] == "input_ids"
    ids = forward.inputs[0]
    assert ids.dtype == np.int64 and ids.shape == ("batch", "seq") and ids.kiln_dtype == "I64"
    assert model.forward is forward
    assert "entry 'forward'" in model.signature()
    assert "input_ids: i64[batch, seq]" in model.signature()
    if family != "bert":
        assert forward.outputs[0].shape == ("batch", "seq", 1000)
    assert "forward" in dir(model)


def test_calling_conventions(compiled):
    """Keywords, positional, one dict, run(name), torch tensors and Python
    lists give the same logits."""
    m = compiled("llama")
    inputs = _inputs("llama", m.config)
    ref = m.model.forward(**inputs)["logits"]
    same = [
        m.model.forward(inputs["input_ids"], inputs["attention_mask"]),
        m.model.forward(inputs),
        m.model.run("forward", **inputs),
        m.model.entries["forward"](**inputs),
        m.model.forward(input_ids=torch.from_numpy(inputs["input_ids"]),
                        attention_mask=torch.from_numpy(inputs["attention_mask"])),
        m.model.forward(input_ids=inputs["input_ids"].tolist(),
                        attention_mask=inputs["attention_mask"].tolist()),
    ]
    for out in same:
        np.testing.assert_array_equal(out["logits"], ref)


def test_prefill_decode_with_out_buffers(compiled):
    """prefill then decode_step through Model.run, the caches flowing from
    outputs to inputs through two preallocated buffer sets (out=), equal
    the full forward."""
    m = compiled("gpt2")
    config = m.config
    rng = np.random.default_rng(3)
    ids = rng.integers(0, config["vocab_size"], (2, 12)).astype(np.int64)
    heads, hidden = config["n_head"], config["n_embd"]
    cache_shape = (config["n_layer"], 2, 16, heads, hidden // heads)
    # prefill ignores its input caches' contents (finite garbage here; NaN
    # would leak through 0 * NaN in the attention over the whole capacity).
    a = {n: rng.standard_normal(cache_shape).astype(np.float32) * 100
         for n in ("key_cache", "value_cache")}
    b = {n: np.empty(cache_shape, np.float32) for n in ("key_cache", "value_cache")}
    out = m.model.prefill(input_ids=ids[:, :9], **a, out=b)
    assert out["key_cache"] is b["key_cache"] and out["value_cache"] is b["value_cache"]
    logits = [out["logits"]]
    out = m.model.decode_step(input_ids=ids[:, 9:], positions=np.array([9, 9]), **b, out=a)
    logits.append(out["logits"])
    full = reference.forward(config, m.state, input_ids=ids).numpy()
    err = max_abs_diff(np.concatenate(logits, axis=1), full)
    assert err <= ATOL, err


def test_threads_option_and_concurrent_calls(compiled):
    """threads=1 gives the same numbers; two Python threads may run one
    Model at once (each gets its own runtime context)."""
    m = compiled("bert")
    inputs = _inputs("bert", m.config, batch=2, seq=33, lengths=(33, 20))
    ref = m.model.forward(**inputs)["last_hidden_state"]
    with kiln.load(m.out_dir, threads=1) as single:
        assert single.threads == 1
        np.testing.assert_allclose(single.forward(**inputs)["last_hidden_state"], ref,
                                   rtol=0, atol=1e-5)
    results, failures = [], []

    def work():
        try:
            for _ in range(5):
                results.append(m.model.forward(**inputs)["last_hidden_state"])
        except Exception as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len(results) == 15
    for r in results:
        np.testing.assert_array_equal(r, ref)


def test_close_and_context_manager(compiled):
    m = compiled("mamba")
    model = kiln.load(m.out_dir)
    inputs = _inputs("mamba", m.config, batch=1, seq=3, lengths=(3,))
    inputs = {n: inputs[n] for n in model.forward.input_names}
    first = model.forward(**inputs)["logits"]
    model.close()
    model.close()
    with pytest.raises(kiln.InvalidArgument, match="closed"):
        model.forward(**inputs)
    with kiln.load(m.out_dir) as again:
        np.testing.assert_array_equal(again.forward(**inputs)["logits"], first)
    assert "closed" in repr(model)


def test_manifest(compiled):
    m = compiled("llama")
    assert m.model.manifest["format"] == "kiln-model"
    assert m.model.path.endswith("llama-out")
    assert kiln.runtime.library_path().endswith("libkiln_runtime.so")
