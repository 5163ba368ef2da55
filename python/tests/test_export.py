"""kiln.export -> kiln.compile -> run round trips against the PyTorch
module's own float32 output (max abs difference <= ATOL = 1e-3), and
kiln.torch_models against the float64 references."""

import json
import os

import numpy as np
import pytest

import kiln
from conftest import ATOL, COMPILE_TIMEOUT, FAMILIES, max_abs_diff

torch = pytest.importorskip("torch")
from kiln import bundled, reference, safetensors_io, torch_models  # noqa: E402

# Non-default configurations, so the round trip covers more than the
# bundled models do: BERT with gelu_new, 3 layers; LLaMA GQA 8:2 with a
# tied embedding and attention bias; GPT-2 with n_inner 256; Mamba with
# use_bias and time_step_rank "auto".
ROUND_TRIP = {
    "bert": dict(hidden_act="gelu_new", num_hidden_layers=3, hidden_size=64,
                 num_attention_heads=2, intermediate_size=128),
    "llama": dict(num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=True,
                  attention_bias=True, hidden_size=64, intermediate_size=96),
    "gpt2": dict(n_inner=256, n_embd=64, n_layer=1, n_head=2),
    "mamba": dict(use_bias=True, time_step_rank="auto", hidden_size=64,
                  intermediate_size=128, num_hidden_layers=1),
}


def _module(family):
    config = dict(bundled.DEFAULTS[family], **ROUND_TRIP[family])
    torch.manual_seed(0)
    module = torch_models.build(config)
    # Spread the parameters a little (PyTorch's default init leaves norms
    # at exactly 1 and biases small).
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("A_log"):
                continue
            p.add_(torch.randn_like(p) * 0.05)
    return module.eval()


def _example(family, batch=2, seq=13):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 1000, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    if batch > 1:
        mask[1, 9:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if family == "bert":
        inputs["token_type_ids"] = torch.randint(0, 2, (batch, seq), generator=g)
    return inputs


@pytest.mark.parametrize("family", FAMILIES)
def test_export_compile_run_round_trip(family, tmp_path):
    module = _module(family)
    example = _example(family)
    folder = kiln.export(module, example, tmp_path / "hf")
    assert sorted(os.listdir(folder)) == ["config.json", "model.safetensors"]
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["model_type"] == family
    model = kiln.compile(folder, tmp_path / "out", quiet=True, timeout=COMPILE_TIMEOUT)
    for inputs in (example, _example(family, batch=1, seq=30)):
        with torch.no_grad():
            want = module(**inputs).numpy()
        got = next(iter(model.forward(**inputs).values()))
        # Padded query rows (row 1 from 9 on) see the real keys before
        # them, so they are defined and compared too; BERT's are zero, as
        # kiln-compile removes an encoder's padding.
        if family == "bert":
            want = want * inputs["attention_mask"].numpy()[..., None]
        err = max_abs_diff(got, want)
        assert err <= ATOL, f"{family}: max |kiln - torch| = {err:.3e}"
    if family in ("llama", "gpt2", "mamba"):
        ids = model.generate(example["input_ids"][0, :4].numpy(), 5)
        seq = example["input_ids"][:1, :4]
        for token in ids:
            with torch.no_grad():
                logits = module(seq)[0, -1]
            assert int(torch.argmax(logits)) == int(token)
            seq = torch.cat([seq, torch.tensor([[int(token)]])], 1)
    model.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_torch_models_match_reference(family):
    config, state = bundled.make_model(family, seed=3)
    module = torch_models.from_state(config, state)
    inputs = {k: v.numpy() for k, v in _example(family).items()}
    with torch.no_grad():
        got = module(**{k: torch.from_numpy(v) for k, v in inputs.items()}).numpy()
    ref = reference.forward(config, state, **inputs).numpy()
    # float32 module vs float64 reference
    assert max_abs_diff(got, ref) <= ATOL


def test_export_tied_and_dtypes(tmp_path):
    module = torch_models.build(dict(bundled.DEFAULTS["gpt2"], n_layer=1))
    example = {"input_ids": torch.zeros(1, 4, dtype=torch.int64)}
    folder = kiln.export(module, example, tmp_path / "f32")
    tensors = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    assert "lm_head.weight" not in tensors          # tied: stored once
    assert tensors["transformer.wte.weight"].dtype == np.float32
    folder = kiln.export(module, example, tmp_path / "f16", dtype="float16")
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        header = f.read(4096)
    assert b'"F16"' in header and b'"F32"' not in header
    with open(os.path.join(folder, "config.json")) as f:
        assert json.load(f)["torch_dtype"] == "float16"
    half = torch_models.build(dict(bundled.DEFAULTS["mamba"], num_hidden_layers=1))
    half = half.to(torch.bfloat16)
    folder = kiln.export(half, None, tmp_path / "bf16", check=False)
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        assert b'"BF16"' in f.read(4096)


def test_export_errors(tmp_path):
    module = torch_models.build(dict(bundled.DEFAULTS["llama"], num_hidden_layers=1))
    ids = {"input_ids": torch.zeros(1, 4, dtype=torch.int64)}
    bare = torch.nn.Linear(4, 4)
    with pytest.raises(kiln.ExportError, match="needs the model's config"):
        kiln.export(bare, ids, tmp_path / "a")
    with pytest.raises(kiln.ExportError, match="Hugging Face parameter names"):
        kiln.export(bare, ids, tmp_path / "a", config=module.config, check=False)
    with pytest.raises(kiln.ExportError, match="not a family Kiln imports"):
        kiln.export(module, ids, tmp_path / "a", config={"model_type": "t5"})
    with pytest.raises(kiln.ExportError, match="position_ids"):
        kiln.export(module, dict(ids, position_ids=ids["input_ids"]), tmp_path / "a")
    with pytest.raises(kiln.ExportError, match="must be an integer"):
        kiln.export(module, {"input_ids": torch.zeros(1, 4)}, tmp_path / "a")
    wrong = dict(module.config, vocab_size=999)
    with pytest.raises(kiln.ExportError, match="output has shape"):
        kiln.export(module, ids, tmp_path / "a", config=wrong)
    with pytest.raises(kiln.ExportError, match="dtype"):
        kiln.export(module, ids, tmp_path / "a", dtype="int8")

    class HFLike(torch.nn.Module):          # config with to_dict(), HF-style output
        def __init__(self):
            super().__init__()
            self.inner = module
            self.config = type("C", (), {"to_dict": lambda s: dict(module.config)})()

        def forward(self, input_ids, attention_mask=None):
            return {"logits": self.inner(input_ids, attention_mask)}

        def state_dict(self, *a, **k):
            return self.inner.state_dict(*a, **k)

    folder = kiln.export(HFLike(), ids, tmp_path / "hf")
    assert os.path.exists(os.path.join(folder, "model.safetensors"))
