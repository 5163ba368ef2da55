"""Writes broken Hugging Face folders for errors.test, one per case.

    bad_folders.py OUT_DIR

Each case starts from a small, valid kiln.bundled llama (or the family the
case needs) and breaks one thing; the folder is named after the case.
"""

import json
import os
import sys

import numpy as np

from kiln import bundled, safetensors_io

SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
             vocab_size=50)


def llama(path, **overrides):
    config, tensors = bundled.make_model("llama", **dict(SMALL, **overrides))
    bundled.write_folder(path, config, tensors)
    return config, tensors


def edit_config(path, **changes):
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    for key, value in changes.items():
        if value is KeyError:
            config.pop(key)
        else:
            config[key] = value
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


def rewrite_tensors(path, change):
    tensors = safetensors_io.load(os.path.join(path, "model.safetensors"))
    change(tensors)
    safetensors_io.save(tensors, os.path.join(path, "model.safetensors"))


def main(out):
    os.makedirs(out, exist_ok=True)
    case = lambda name: os.path.join(out, name)

    os.makedirs(case("no-config"), exist_ok=True)

    llama(case("not-json"))
    with open(os.path.join(case("not-json"), "config.json"), "w") as f:
        f.write('{"model_type": "llama",')

    llama(case("unknown-type"))
    edit_config(case("unknown-type"), model_type="t5")
    llama(case("no-type"))
    edit_config(case("no-type"), model_type=KeyError)
    llama(case("missing-field"))
    edit_config(case("missing-field"), num_attention_heads=KeyError)
    llama(case("string-field"))
    edit_config(case("string-field"), num_hidden_layers="2")
    config, tensors = bundled.make_model("mamba", **SMALL)
    bundled.write_folder(case("huge-field"), config, tensors)
    edit_config(case("huge-field"), hidden_size=2**63 - 1)
    llama(case("indivisible"))
    edit_config(case("indivisible"), num_attention_heads=4,
                num_key_value_heads=3)
    llama(case("rope-scaling"))
    edit_config(case("rope-scaling"), rope_scaling={"type": "linear",
                                                    "factor": 2.0})

    llama(case("no-weights"))
    os.remove(os.path.join(case("no-weights"), "model.safetensors"))

    llama(case("missing-tensor"))
    rewrite_tensors(case("missing-tensor"),
                    lambda t: t.pop("model.layers.1.mlp.up_proj.weight"))
    llama(case("wrong-shape"))
    def transpose(t):
        name = "model.layers.0.mlp.down_proj.weight"
        t[name] = np.ascontiguousarray(t[name].T)
    rewrite_tensors(case("wrong-shape"), transpose)
    llama(case("wrong-dtype"))
    def to_int(t):
        name = "model.norm.weight"
        t[name] = t[name].astype(np.int32)
    rewrite_tensors(case("wrong-dtype"), to_int)
    llama(case("no-lm-head"))
    rewrite_tensors(case("no-lm-head"), lambda t: t.pop("lm_head.weight"))

    # A BERT config over a GPT-2 checkpoint: nothing is where BERT keeps it.
    config, tensors = bundled.make_model("gpt2", n_embd=32, n_layer=1,
                                         vocab_size=50)
    bert_config, _ = bundled.make_model("bert", hidden_size=32,
                                        num_hidden_layers=1, vocab_size=50)
    bundled.write_folder(case("wrong-family"), bert_config, tensors)

    # Sharded: the index names a shard that does not hold the tensor, or a
    # file outside the folder.
    config, tensors = bundled.make_model("llama", **SMALL)
    bundled.write_folder(case("lying-index"), config, tensors, shards=2)
    bundled.write_folder(case("escaping-index"), config, tensors, shards=2)
    for name, target in (("lying-index", None), ("escaping-index", "../x.safetensors")):
        index_path = os.path.join(case(name), "model.safetensors.index.json")
        with open(index_path) as f:
            index = json.load(f)
        shards = sorted(set(index["weight_map"].values()))
        moved = "model.norm.weight"
        current = index["weight_map"][moved]
        index["weight_map"][moved] = target or next(s for s in shards if s != current)
        with open(index_path, "w") as f:
            json.dump(index, f)


if __name__ == "__main__":
    main(sys.argv[1])
