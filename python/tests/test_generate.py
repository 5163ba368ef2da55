"""Model.generate and Generator (kiln_generator_*) against
kiln.reference.greedy_generate: a full float64 forward per token, whose
top-1/top-2 margins must be >= 1e-2 so that fp32 noise cannot flip a
token."""

import numpy as np
import pytest

import kiln
from conftest import ATOL, max_abs_diff

torch = pytest.importorskip("torch")
from kiln import reference  # noqa: E402

DECODERS = ("llama", "gpt2", "mamba")
PROMPT = [300, 2, 77]
MIN_MARGIN = 1e-2


@pytest.mark.parametrize("family", DECODERS)
def test_generate_16_matches_reference(compiled, family):
    m = compiled(family)
    want, margins = reference.greedy_generate(m.config, m.state, PROMPT, 16)
    assert min(margins) >= MIN_MARGIN, f"reference margins too small: {min(margins)}"
    got = m.model.generate(PROMPT, max_new_tokens=16)
    assert got.dtype == np.int64 and got.shape == (16,)
    assert got.tolist() == want
    # The Python loop (eos path) and an explicit capacity agree with the C loop.
    again = m.model.generate(np.array(PROMPT), 16, capacity=40, eos_token_id=-1)
    assert again.tolist() == want


def test_generate_batch_and_eos(compiled):
    m = compiled("llama")
    prompts = np.array([PROMPT, [5, 17, 42]], dtype=np.int64)
    out = m.model.generate(prompts, 6)
    assert out.shape == (2, 6)
    for row, prompt in zip(out, prompts):
        assert row.tolist() == reference.greedy_generate(m.config, m.state, prompt, 6)[0]
    first = out[0].tolist()
    eos = first[2]
    stopped = m.model.generate(PROMPT, 6, eos_token_id=eos)
    assert stopped.tolist() == first[:first.index(eos) + 1]
    # Row 1 ends later (or not at all): row 0 is padded after its eos.
    k = first.index(eos)
    both = m.model.generate(prompts, 6, eos_token_id=[eos], pad_token_id=0)
    assert both[0, :k + 1].tolist() == first[:k + 1]
    assert (both[0, k + 1:] == 0).all()


@pytest.mark.parametrize("family", ("llama", "mamba"))
def test_generator_steps_match_forward(compiled, family):
    m = compiled(family)
    rng = np.random.default_rng(5)
    ids = rng.integers(0, m.config["vocab_size"], (2, 10)).astype(np.int64)
    full = reference.forward(m.config, m.state, input_ids=ids).numpy()
    with m.model.generator(batch=2, capacity=12) as gen:
        assert gen.vocab_size == 1000 and gen.batch == 2
        assert gen.capacity == (None if family == "mamba" else 12)
        logits = gen.prefill(ids[:, :6])
        assert gen.position == 6
        assert max_abs_diff(logits, full[:, 5]) <= ATOL
        logits = gen.extend(ids[:, 6:9])
        assert max_abs_diff(logits, full[:, 8]) <= ATOL
        logits = gen.step(ids[:, 9])
        assert max_abs_diff(logits, full[:, 9]) <= ATOL
        assert gen.position == 10
        states = gen.states()
        names = {"mamba": ["conv_state", "ssm_state"]}.get(family, ["key_cache", "value_cache"])
        assert sorted(states) == names
        for value in states.values():
            assert value.dtype == np.float32 and value.shape[1] == 2
        gen.reset()
        assert gen.position == 0
    with pytest.raises(kiln.InvalidArgument, match="closed"):
        gen.step(ids[:, 0])


def test_generator_errors_carry_runtime_message(compiled):
    m = compiled("llama")
    with m.model.generator(batch=1, capacity=4) as gen:
        gen.prefill([1, 2, 3])
        gen.step(4)
        # Past the KV-cache capacity: the runtime's own message.
        with pytest.raises(kiln.InvalidArgument, match="exceeds the KV-cache capacity 4") as e:
            gen.step(5)
        assert e.value.status == 1
        with pytest.raises(kiln.InvalidArgument, match="vocabulary"):
            gen.prefill([1, 5000])
        with pytest.raises(kiln.ShapeMismatch):
            gen.step([1, 2])
        with pytest.raises(kiln.DTypeMismatch):
            gen.prefill([1.5, 2.0])
    with pytest.raises(kiln.NotFound, match="not compiled for generation"):
        compiled("bert").model.generate([1, 2], 4)
    with pytest.raises(kiln.InvalidArgument):
        m.model.generate([1, 2], 0)
