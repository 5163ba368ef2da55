"""kiln.export: a PyTorch module -> a Hugging Face style folder kiln-compile reads.

    module = kiln.torch_models.LlamaForCausalLM(config)    # or a transformers model
    kiln.export(module, {"input_ids": ids}, "hf/llama")
    model = kiln.compile("hf/llama", "out/llama")

The folder gets config.json and model.safetensors (written by
kiln.safetensors_io, not the safetensors package). The module's state_dict
must use Hugging Face's parameter names for its family (bert, llama, gpt2,
mamba), as kiln.torch_models' modules and transformers' BertModel,
LlamaForCausalLM, GPT2LMHeadModel and MambaForCausalLM do.
"""

import json
import os

import numpy as np

from kiln import errors, safetensors_io

# Inputs of each family's `forward` entry, in order (docs/Import.md).
FORWARD_INPUTS = {
    "bert": ("input_ids", "attention_mask", "token_type_ids"),
    "llama": ("input_ids", "attention_mask"),
    "gpt2": ("input_ids", "attention_mask"),
    "mamba": ("input_ids", "attention_mask"),
}
ARCHITECTURES = {"bert": "BertModel", "llama": "LlamaForCausalLM",
                 "gpt2": "GPT2LMHeadModel", "mamba": "MambaForCausalLM"}
# The input embedding (with the prefixes the importer accepts), and whether
# the output embedding is tied to it by default.
_EMBEDDING = {
    "bert": (("embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight"),
             None),
    "llama": (("model.embed_tokens.weight",), False),
    "gpt2": (("transformer.wte.weight", "wte.weight"), True),
    "mamba": (("backbone.embeddings.weight",), True),
}
_DTYPES = {None: None, "float32": None, "float16": "F16", "bfloat16": "BF16"}


def config_of(module, config=None):
    """The config.json dict: `config` (a dict or an object with to_dict()),
    else module.config."""
    source = config if config is not None else getattr(module, "config", None)
    if source is None:
        raise errors.ExportError(
            "kiln.export needs the model's config: pass config={...} (the "
            "config.json fields) or give the module a `config` attribute")
    if hasattr(source, "to_dict"):
        source = source.to_dict()
    if not isinstance(source, dict):
        raise errors.ExportError(f"config must be a dict or have to_dict(), got "
                                 f"{type(source).__name__}")
    return dict(source)


def family_of(config):
    family = config.get("model_type")
    if family in FORWARD_INPUTS:
        return family
    for arch in config.get("architectures") or []:
        for name in FORWARD_INPUTS:
            if arch.lower().startswith(name):
                return name
    raise errors.ExportError(
        f"config model_type {family!r} is not a family Kiln imports "
        f"({', '.join(FORWARD_INPUTS)})")


def _bind_inputs(family, example_inputs):
    import torch
    names = FORWARD_INPUTS[family]
    if example_inputs is None:
        raise errors.ExportError("example_inputs is None (pass check=False to skip the check)")
    if isinstance(example_inputs, dict):
        bound = dict(example_inputs)
    elif isinstance(example_inputs, (list, tuple)):
        if len(example_inputs) > len(names):
            raise errors.ExportError(f"{family} takes at most {len(names)} inputs "
                                     f"({', '.join(names)})")
        bound = dict(zip(names, example_inputs))
    else:
        bound = {"input_ids": example_inputs}
    unknown = sorted(set(bound) - set(names))
    if unknown:
        raise errors.ExportError(f"example_inputs {unknown}: a {family} model compiled by "
                                 f"Kiln takes {', '.join(names)}")
    if "input_ids" not in bound:
        raise errors.ExportError("example_inputs must include input_ids")
    out = {}
    for name, value in bound.items():
        if value is None:
            continue
        tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor)
                                 else value)
        if tensor.dtype.is_floating_point or tensor.dim() != 2:
            raise errors.ExportError(f"example input {name!r} must be an integer "
                                     f"[batch, seq] tensor, got {tensor.dtype} "
                                     f"{list(tensor.shape)}")
        out[name] = tensor.to(torch.int64)
    return out


def _output_tensor(result):
    import torch
    if isinstance(result, torch.Tensor):
        return result
    for key in ("logits", "last_hidden_state"):
        value = result.get(key) if isinstance(result, dict) else getattr(result, key, None)
        if isinstance(value, torch.Tensor):
            return value
    if isinstance(result, (list, tuple)) and result and isinstance(result[0], torch.Tensor):
        return result[0]
    raise errors.ExportError(f"cannot find the output tensor in the module's result "
                             f"({type(result).__name__})")


def _check_module(module, family, config, inputs):
    import torch
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            result = module(**inputs)
    except Exception as e:
        raise errors.ExportError(f"the module failed on example_inputs: "
                                 f"{type(e).__name__}: {e}") from e
    finally:
        module.train(was_training)
    out = _output_tensor(result)
    b, s = inputs["input_ids"].shape
    width = config.get("hidden_size", config.get("n_embd")) if family == "bert" \
        else config.get("vocab_size")
    if tuple(out.shape) != (b, s, width):
        raise errors.ExportError(
            f"the module's output has shape {list(out.shape)} but a {family} model with "
            f"this config gives [{b}, {s}, {width}] "
            f"({'last_hidden_state' if family == 'bert' else 'logits'})")
    return out


def _state_tensors(module, family, config):
    import torch
    state = module.state_dict(keep_vars=False)
    names, tied_default = _EMBEDDING[family]
    embedding = next((n for n in names if n in state), None)
    if embedding is None:
        sample = ", ".join(list(state)[:4])
        raise errors.ExportError(
            f"the module's state_dict has no {' or '.join(repr(n) for n in names)}; "
            f"kiln.export needs Hugging Face parameter names for {family} "
            f"(see kiln.torch_models.{ARCHITECTURES[family]}); it has {sample}, ...")
    tied = config.get("tie_word_embeddings", tied_default)
    head = state.get("lm_head.weight")
    if (tied and head is not None and head.data_ptr() == state[embedding].data_ptr()
            and head.shape == state[embedding].shape):
        del state["lm_head.weight"]        # as save_pretrained drops tied weights
    tensors, dtypes, skipped = {}, set(), []
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            skipped.append(name)           # masks and other integer buffers
            continue
        tensor = tensor.detach().cpu()
        dtypes.add(tensor.dtype)
        tensors[name] = tensor.to(torch.float32).contiguous().numpy()
    return tensors, dtypes, skipped


def export(module, example_inputs, out_dir, config=None, dtype=None, check=True):
    """Writes `module` as a Hugging Face folder `out_dir` (config.json +
    model.safetensors) that kiln.compile / kiln-compile read. Returns
    out_dir (a str).

    config: the config.json dict (or an object with to_dict()); default:
    module.config. Its model_type (or architectures) picks the family.
    example_inputs: the `forward` entry's inputs for this family (a dict, a
    tuple in the order input_ids, attention_mask, token_type_ids, or just
    input_ids), integer [batch, seq]. With check=True (the default) the
    module is run on them in eval mode and its output (a tensor, or the
    `logits` / `last_hidden_state` of a Hugging Face output) must have the
    shape the config implies. dtype: None (the module's: float16 and
    bfloat16 modules are stored as F16 / BF16, everything else as F32),
    "float32", "float16" or "bfloat16". A tied output embedding is stored
    once, as save_pretrained does; non-floating buffers are left out.
    Raises ExportError."""
    if dtype not in _DTYPES:
        raise errors.ExportError(f"dtype must be one of float32, float16, bfloat16, "
                                 f"got {dtype!r}")
    import torch
    config = config_of(module, config)
    family = family_of(config)
    config.setdefault("model_type", family)
    config.setdefault("architectures", [ARCHITECTURES[family]])
    if check:
        _check_module(module, family, config, _bind_inputs(family, example_inputs))
    tensors, dtypes, _ = _state_tensors(module, family, config)
    float_dtype = _DTYPES[dtype]
    if dtype is None and len(dtypes) == 1:
        float_dtype = {torch.float16: "F16", torch.bfloat16: "BF16"}.get(next(iter(dtypes)))
    config["torch_dtype"] = {None: "float32", "F16": "float16", "BF16": "bfloat16"}[float_dtype]
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    safetensors_io.save(tensors, os.path.join(out_dir, "model.safetensors"),
                        metadata={"format": "pt"}, float_dtype=float_dtype)
    return out_dir
