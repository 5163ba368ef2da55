"""Inputs reach the runtime without a copy: C-contiguous arrays by their own
data pointer, strided views by their pointer and element strides (the
runtime stages them); only negative strides are copied in Python. Results
equal those of dense copies."""

import numpy as np
import pytest

from kiln import runtime


def _marshal(model, entry, **inputs):
    e = model.entries[entry]
    tensors, arrays, _ = e._marshal(e._bind((), inputs))
    return [tensors[i] for i in range(len(e.inputs))], arrays


def _strides(tensor):
    return None if not tensor.strides else [tensor.strides[d] for d in range(tensor.rank)]


def test_pointers_handed_to_the_runtime(compiled):
    model = compiled("llama").model
    big = np.arange(4 * 40, dtype=np.int64).reshape(4, 40) % 1000
    ids = np.ascontiguousarray(big[:2, :17])
    mask = np.ones((2, 17), np.int64)
    (t_ids, t_mask), _ = _marshal(model, "forward", input_ids=ids, attention_mask=mask)
    assert t_ids.data == ids.ctypes.data and _strides(t_ids) is None
    assert t_mask.data == mask.ctypes.data
    # A strided view: same pointer, element strides.
    view = big[1:3, 3:37:2]
    (t_view, _), _ = _marshal(model, "forward", input_ids=view, attention_mask=mask)
    assert t_view.data == view.ctypes.data and _strides(t_view) == [40, 2]
    # A broadcast mask: stride 0, no copy.
    row = np.ones(17, np.int64)
    bmask = np.broadcast_to(row, (2, 17))
    (_, t_b), _ = _marshal(model, "forward", input_ids=ids, attention_mask=bmask)
    assert t_b.data == row.ctypes.data and _strides(t_b) == [0, 1]
    # Negative strides are copied (dense) here.
    flipped = ids[:, ::-1]
    (t_f, _), arrays = _marshal(model, "forward", input_ids=flipped, attention_mask=mask)
    assert t_f.data != flipped.ctypes.data and _strides(t_f) is None
    np.testing.assert_array_equal(arrays[0], flipped)


def test_layout():
    a = np.zeros((3, 4), np.float32)
    assert runtime.layout(a)[0] is a and runtime.layout(a)[1] is None
    f = np.asfortranarray(a)
    assert runtime.layout(f)[0] is f and runtime.layout(f)[1] == (1, 3)
    t = a.T
    assert runtime.layout(t)[1] == (1, 4)
    n = a[::-1]
    copy, strides = runtime.layout(n)
    assert copy is not n and strides is None and copy.flags.c_contiguous


@pytest.mark.parametrize("family", ("bert", "llama"))
def test_strided_inputs_give_dense_results(compiled, family):
    m = compiled(family)
    rng = np.random.default_rng(7)
    big = rng.integers(0, 1000, (5, 64)).astype(np.int64)
    views = {
        "slice": big[1:4:2, 5:45:2],
        "fortran": np.asfortranarray(big[:2, :20]),
        "transposed": np.ascontiguousarray(big[:20, :2]).T,
        "reversed": big[:2, 20:0:-1],
    }
    for label, ids in views.items():
        mask = np.broadcast_to(np.ones(ids.shape[1], np.int64), ids.shape)
        inputs = {"input_ids": ids, "attention_mask": mask}
        dense = {n: np.ascontiguousarray(v) for n, v in inputs.items()}
        if family == "bert":
            types = np.zeros((ids.shape[1], ids.shape[0]), np.int64).T
            inputs["token_type_ids"] = types
            dense["token_type_ids"] = np.ascontiguousarray(types)
        got = m.model.forward(**inputs)
        want = m.model.forward(**dense)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=label)


def test_out_views_are_written_in_place(compiled):
    m = compiled("llama")
    ids = np.arange(34, dtype=np.int64).reshape(2, 17)
    mask = np.ones_like(ids)
    want = m.model.forward(ids, mask)["logits"]
    dense = np.empty((2, 17, 1000), np.float32)
    got = m.model.forward(ids, mask, out={"logits": dense})["logits"]
    assert got is dense
    np.testing.assert_array_equal(dense, want)
    big = np.zeros((3, 17, 1000), np.float32)
    view = big[::2]                                 # rows 0 and 2, strided
    m.model.forward(ids, mask, out={"logits": view})
    np.testing.assert_array_equal(big[0], want[0])
    np.testing.assert_array_equal(big[2], want[1])
    assert not big[1].any()
