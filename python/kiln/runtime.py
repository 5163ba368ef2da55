"""ctypes binding of a compiled Kiln model (include/kiln/Runtime/kiln_runtime.h).

    model = kiln.load("out/llama", threads=2)
    model.entries                    # {"forward": Entry, "prefill": ..., ...}
    out = model.forward(input_ids=ids, attention_mask=mask)   # {"logits": ndarray}
    out = model.run("prefill", input_ids=ids, key_cache=k, value_cache=v)
    ids = model.generate([1, 2, 3], max_new_tokens=16)

Inputs are numpy arrays (torch CPU tensors and Python lists are accepted
too). An array of the entry's dtype is passed to the runtime without a copy
when it is C-contiguous; a view with non-negative strides (a slice, a
transpose, np.broadcast_to) is passed as is with its strides, and the
runtime stages it into dense scratch memory; anything else (negative
strides, misaligned data) is copied here with np.ascontiguousarray first.
Arrays of another dtype are refused (DTypeMismatch), never cast silently;
Python lists are converted to the entry's dtype when that is a same-kind
conversion. Outputs are new arrays shaped by kiln_entry_output_shape, or
the caller's arrays given in `out=`.

A Model owns one runtime context per Python thread (created on first use
there, with the model's thread setting), so one Model may be called from
several threads at once; the GIL is released while the compiled code runs.
"""

import ctypes
import json
import os
import threading
import weakref

import numpy as np

from kiln import errors, locate

# kiln_dtype -> (manifest name, numpy dtype). numpy has no bfloat16: BF16
# tensors are uint16 bit patterns (safetensors_io.to_bfloat16_bits /
# from_bfloat16_bits convert).
DTYPES = {
    0: ("F32", np.dtype(np.float32)), 1: ("F16", np.dtype(np.float16)),
    2: ("BF16", np.dtype(np.uint16)), 3: ("I8", np.dtype(np.int8)),
    4: ("I32", np.dtype(np.int32)), 5: ("I64", np.dtype(np.int64)),
    6: ("U8", np.dtype(np.uint8)), 7: ("BOOL", np.dtype(np.bool_)),
}
_CODE_OF = {dt: code for code, (_, dt) in DTYPES.items()}


# --- the C ABI ----------------------------------------------------------------------

_i32, _i64, _p = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
_i64p = ctypes.POINTER(_i64)


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", _i32), ("shape", _i64p),
                ("strides", _i64p), ("data", _p)]


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", _i32),
                ("dims", _i64p), ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


class _ContextOptions(ctypes.Structure):
    _fields_ = [("num_threads", _i32)]


_TensorP = ctypes.POINTER(_Tensor)
_PROTOTYPES = {
    "kiln_last_error": (ctypes.c_char_p, []),
    "kiln_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "kiln_model_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_p)]),
    "kiln_model_close": (None, [_p]),
    "kiln_model_num_entries": (_i32, [_p]),
    "kiln_model_entry_name": (ctypes.c_char_p, [_p, _i32]),
    "kiln_entry_num_inputs": (_i32, [_p, _i32]),
    "kiln_entry_num_outputs": (_i32, [_p, _i32]),
    "kiln_entry_input_info": (ctypes.c_int, [_p, _i32, _i32, ctypes.POINTER(_TensorInfo)]),
    "kiln_entry_output_info": (ctypes.c_int, [_p, _i32, _i32, ctypes.POINTER(_TensorInfo)]),
    "kiln_entry_output_shape": (ctypes.c_int, [_p, _i32, _TensorP, _i32, _i32, _i64p]),
    "kiln_context_create": (ctypes.c_int, [_p, ctypes.POINTER(_ContextOptions),
                                           ctypes.POINTER(_p)]),
    "kiln_context_destroy": (None, [_p]),
    "kiln_context_run": (ctypes.c_int, [_p, _i32, _TensorP, _i32, _TensorP, _i32]),
    "kiln_generator_create": (ctypes.c_int, [_p, _i64, _i64, ctypes.POINTER(_p)]),
    "kiln_generator_destroy": (None, [_p]),
    "kiln_generator_batch": (_i64, [_p]),
    "kiln_generator_capacity": (_i64, [_p]),
    "kiln_generator_vocab_size": (_i64, [_p]),
    "kiln_generator_position": (_i64, [_p]),
    "kiln_generator_prefill": (ctypes.c_int, [_p, _p, _i64, _p]),
    "kiln_generator_extend": (ctypes.c_int, [_p, _p, _i64, _p]),
    "kiln_generator_step": (ctypes.c_int, [_p, _p, _p]),
    "kiln_generator_reset": (ctypes.c_int, [_p]),
    "kiln_generator_num_states": (_i32, [_p]),
    "kiln_generator_state": (ctypes.c_int, [_p, _i32, ctypes.POINTER(ctypes.c_char_p),
                                            _TensorP]),
    "kiln_generator_greedy": (ctypes.c_int, [_p, _p, _i64, _i64, _p]),
}

_lib_lock = threading.Lock()
_lib = None
_lib_path = None


def library():
    """The loaded libkiln_runtime.so (ctypes.CDLL); found as described in
    kiln.locate. Raises RuntimeLibraryNotFound listing where it looked."""
    global _lib, _lib_path
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = locate.find_runtime_library()
        try:
            lib = ctypes.CDLL(path or locate.RUNTIME_LIB_NAME)
        except OSError as e:
            if path:
                raise errors.RuntimeLibraryNotFound(f"cannot load {path}: {e}") from None
            raise errors.RuntimeLibraryNotFound(
                f"cannot find {locate.RUNTIME_LIB_NAME}; looked at:\n"
                f"{locate.describe_search()}\nBuild Kiln (scripts/build) or set "
                "KILN_RUNTIME_LIB to the library's path.") from None
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise errors.RuntimeLibraryNotFound(
                    f"{path or locate.RUNTIME_LIB_NAME} lacks {name}: an older "
                    "runtime library than this kiln package") from None
            fn.restype = restype
            fn.argtypes = argtypes
        _lib, _lib_path = lib, path or locate.RUNTIME_LIB_NAME
        return lib


def library_path():
    """The path the runtime library was loaded from (loads it if needed)."""
    library()
    return _lib_path


def _check(status):
    if status != 0:
        message = library().kiln_last_error()
        raise errors.from_status(status, message.decode("utf-8", "replace") if message else "")


# --- signatures -----------------------------------------------------------------------

class TensorInfo:
    """One input or output of an entry: `name`, `dtype` (numpy dtype;
    uint16 for BF16), `kiln_dtype` ("F32", "I64", ...), `shape` (a tuple
    whose dynamic dims are their names, e.g. ("batch", "seq", 1000), or
    None for an unnamed dynamic dim)."""

    __slots__ = ("name", "dtype", "kiln_dtype", "code", "shape")

    def __init__(self, name, code, shape):
        self.name = name
        self.code = code
        self.kiln_dtype, self.dtype = DTYPES[code]
        self.shape = tuple(shape)

    @property
    def rank(self):
        return len(self.shape)

    def shape_string(self):
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"

    def __repr__(self):
        return f"{self.name}: {self.kiln_dtype.lower()}{self.shape_string()}"


def _read_info(raw):
    shape = []
    for d in range(raw.rank):
        if raw.dims[d] >= 0:
            shape.append(int(raw.dims[d]))
        else:
            name = raw.dim_names[d] if raw.dim_names else None
            shape.append(name.decode() if name else None)
    return TensorInfo(raw.name.decode(), raw.dtype, shape)


class Entry:
    """An entry point of a compiled model. Call it like a function:
    `entry(input_ids=..., ...)` or positionally in `input_names` order;
    returns {output name: ndarray}."""

    def __init__(self, model, index, name, inputs, outputs):
        self._model = model
        self.index = index
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.input_names = [t.name for t in inputs]
        self.output_names = [t.name for t in outputs]

    def __call__(self, *args, out=None, **inputs):
        return self._model.run(self.name, *args, out=out, **inputs)

    def signature(self):
        lines = [f"entry '{self.name}'"]
        lines += [f"  input  {t!r}" for t in self.inputs]
        lines += [f"  output {t!r}" for t in self.outputs]
        return "\n".join(lines)

    def __repr__(self):
        ins = ", ".join(repr(t) for t in self.inputs)
        outs = ", ".join(repr(t) for t in self.outputs)
        return f"<kiln entry {self.name}({ins}) -> ({outs})>"

    # Binding and marshalling -------------------------------------------------------

    def _bind(self, args, kwargs):
        """{input name: value} from positional and keyword arguments."""
        if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
            kwargs, args = dict(args[0]), ()
        if len(args) > len(self.inputs):
            raise errors.InvalidArgument(
                f"entry '{self.name}' takes {len(self.inputs)} inputs "
                f"({', '.join(self.input_names)}) but {len(args)} were given")
        bound = dict(zip(self.input_names, args))
        for name, value in kwargs.items():
            if name not in self.input_names:
                raise errors.UnknownInput(
                    f"entry '{self.name}' has no input '{name}'; its inputs are "
                    f"{', '.join(self.input_names)}")
            if name in bound:
                raise errors.InvalidArgument(
                    f"entry '{self.name}': input '{name}' given twice")
            bound[name] = value
        missing = [n for n in self.input_names if n not in bound]
        if missing:
            raise errors.MissingInput(
                f"entry '{self.name}' is missing input{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}; it takes "
                + ", ".join(repr(t) for t in self.inputs))
        return bound

    def _marshal(self, bound):
        """(ctypes kiln_tensor array, the arrays passed, objects to keep
        alive) for the bound inputs. Checks dtype, rank, static dims and
        that named dynamic dims agree across inputs."""
        keep = []
        arrays = []
        tensors = (_Tensor * max(1, len(self.inputs)))()
        dims = {}
        for i, info in enumerate(self.inputs):
            array = to_array(bound[info.name], info, f"entry '{self.name}': input")
            for d, want in enumerate(info.shape):
                got = array.shape[d]
                if isinstance(want, int):
                    if got != want:
                        raise errors.ShapeMismatch(
                            f"entry '{self.name}': input '{info.name}' has shape "
                            f"{list(array.shape)} but the entry expects "
                            f"{info.shape_string()} (dim {d} must be {want})")
                elif want is not None:
                    first = dims.setdefault(want, (got, info.name))
                    if first[0] != got:
                        raise errors.ShapeMismatch(
                            f"entry '{self.name}': input '{info.name}' has {want} = {got} "
                            f"(shape {list(array.shape)}) but input '{first[1]}' has "
                            f"{want} = {first[0]}")
            array, strides = layout(array)
            arrays.append(array)
            _fill_tensor(tensors[i], array, strides, keep)
        return tensors, arrays, keep


def to_array(value, info, what):
    """`value` as a numpy array of `info`'s dtype and rank, without a copy
    when possible. Raises DTypeMismatch / ShapeMismatch."""
    if isinstance(value, np.ndarray):
        array = value
    elif type(value).__module__.split(".")[0] == "torch":
        tensor = value.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        if str(tensor.dtype) == "torch.bfloat16":
            import torch
            array = tensor.view(torch.int16).numpy().view(np.uint16)
        else:
            array = tensor.numpy()
    else:
        array = np.asarray(value)
        if (isinstance(value, (list, tuple, int, float, bool)) and array.dtype != info.dtype
                and (np.can_cast(array.dtype, info.dtype, casting="same_kind")
                     or (array.dtype.kind in "biu" and info.dtype.kind in "iu")
                     or array.size == 0)):
            array = array.astype(info.dtype)
    if array.dtype != info.dtype:
        hint = f"; convert it with .astype(np.{info.dtype.name})" if info.code != 2 else \
            " (BF16 is passed as uint16 bit patterns)"
        raise errors.DTypeMismatch(
            f"{what} '{info.name}' has dtype {array.dtype} but the entry expects "
            f"{info.kiln_dtype} ({info.dtype}){hint}")
    if array.ndim != info.rank:
        raise errors.ShapeMismatch(
            f"{what} '{info.name}' has rank {array.ndim} (shape {list(array.shape)}) "
            f"but the entry expects rank {info.rank} {info.shape_string()}")
    return array


def layout(array):
    """(array to pass, element strides or None): C-contiguous arrays as they
    are, non-negative element-aligned strides as strides, else a copy."""
    if array.flags.c_contiguous and array.flags.aligned:
        return array, None
    item = array.itemsize
    if array.flags.aligned and all(s >= 0 and s % item == 0 for s in array.strides):
        return array, tuple(s // item for s in array.strides)
    return np.ascontiguousarray(array), None


def _fill_tensor(slot, array, strides, keep):
    shape = (_i64 * array.ndim)(*array.shape)
    keep.append(shape)
    slot.dtype = _CODE_OF[array.dtype]
    slot.rank = array.ndim
    slot.shape = shape
    if strides is None:
        slot.strides = None
    else:
        s = (_i64 * array.ndim)(*strides)
        keep.append(s)
        slot.strides = s
    slot.data = array.ctypes.data if array.size else None


class Model:
    """A compiled model directory opened through libkiln_runtime.so. Use
    kiln.load(). Entries are reachable as `model.entries[name]`,
    `model.run(name, ...)` and, unless the name is one of Model's own
    attributes, `model.<name>(...)`."""

    def __init__(self, path, threads=0):
        if threads is None or int(threads) < 0:
            raise errors.InvalidArgument(f"threads must be >= 0 (0: all cores), got {threads}")
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise errors.ModelNotFound(
                f"{path}: no such directory" if not os.path.exists(path) else
                f"{path} is not a directory; give the directory kiln-compile wrote "
                "(model.so, model.json, model.weights.safetensors)")
        if not os.path.isfile(os.path.join(path, "model.so")):
            hint = (" (it holds config.json: a Hugging Face folder; compile it with "
                    "kiln.compile first)"
                    if os.path.isfile(os.path.join(path, "config.json")) else "")
            raise errors.ModelNotFound(f"{path} has no model.so{hint}")
        self.path = os.path.abspath(path)
        self.threads = int(threads)
        self._handle = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._contexts = []
        self._generators = weakref.WeakSet()
        self._manifest = None
        lib = self._lib = library()
        handle = _p()
        _check(lib.kiln_model_open(self.path.encode(), ctypes.byref(handle)))
        self._handle = handle
        self.entries = {}
        info = _TensorInfo()
        for e in range(lib.kiln_model_num_entries(handle)):
            name = lib.kiln_model_entry_name(handle, e).decode()
            inputs, outputs = [], []
            for i in range(lib.kiln_entry_num_inputs(handle, e)):
                _check(lib.kiln_entry_input_info(handle, e, i, ctypes.byref(info)))
                inputs.append(_read_info(info))
            for o in range(lib.kiln_entry_num_outputs(handle, e)):
                _check(lib.kiln_entry_output_info(handle, e, o, ctypes.byref(info)))
                outputs.append(_read_info(info))
            self.entries[name] = Entry(self, e, name, inputs, outputs)

    # Entries -------------------------------------------------------------------------

    def entry(self, name):
        """The Entry `name`; EntryNotFound lists the model's entries."""
        try:
            return self.entries[name]
        except KeyError:
            raise errors.EntryNotFound(
                f"{self.path} has no entry '{name}'; its entries are "
                f"{', '.join(self.entries) or '(none)'}") from None

    def __getattr__(self, name):
        if name.startswith("_") or "entries" not in self.__dict__:
            raise AttributeError(name)
        return self.entry(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__dict__.get("entries", {})))

    def signature(self):
        """The entries and their signatures, as `kiln-run --list` prints them."""
        return "\n".join(e.signature() for e in self.entries.values())

    @property
    def manifest(self):
        """model.json as a dict."""
        if self._manifest is None:
            with open(os.path.join(self.path, "model.json")) as f:
                self._manifest = json.load(f)
        return self._manifest

    def __repr__(self):
        state = "closed" if self._handle is None else ", ".join(self.entries)
        return f"<kiln.Model {self.path} ({state})>"

    # Running -------------------------------------------------------------------------

    def _require_open(self):
        if self._handle is None:
            raise errors.InvalidArgument(f"model {self.path} is closed")

    def _new_context(self, owned=True):
        """A new runtime context; the model destroys it on close when
        `owned` (else the caller does)."""
        context = _p()
        options = _ContextOptions(self.threads)
        _check(self._lib.kiln_context_create(self._handle, ctypes.byref(options),
                                             ctypes.byref(context)))
        if owned:
            with self._lock:
                self._contexts.append(context)
        return context

    def _context(self):
        context = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = self._new_context()
        return context

    def run(self, entry, *args, out=None, **inputs):
        """Runs `entry` (a name) on its inputs, given by keyword, positionally
        in the entry's order, or as one dict. `out` maps output names to
        preallocated arrays to write into (the dtype and shape must be
        exact; they must not overlap an input). Returns {output name:
        ndarray}, in the entry's output order."""
        self._require_open()
        e = self.entry(entry)
        tensors, arrays, keep = e._marshal(e._bind(args, inputs))
        out = dict(out or {})
        unknown = set(out) - set(e.output_names)
        if unknown:
            raise errors.InvalidArgument(
                f"entry '{e.name}' has no output {', '.join(sorted(unknown))}; its "
                f"outputs are {', '.join(e.output_names)}")
        lib = self._lib
        results = {}
        outputs = (_Tensor * max(1, len(e.outputs)))()
        for o, info in enumerate(e.outputs):
            shape = (_i64 * max(1, info.rank))()
            _check(lib.kiln_entry_output_shape(self._handle, e.index, tensors,
                                               len(e.inputs), o, shape))
            shape = tuple(shape[d] for d in range(info.rank))
            target = out.get(info.name)
            if target is None:
                target = np.empty(shape, dtype=info.dtype)
                strides = None
            else:
                target, strides = self._check_out(e, info, target, shape, arrays)
            results[info.name] = target
            _fill_tensor(outputs[o], target, strides, keep)
        _check(lib.kiln_context_run(self._context(), e.index, tensors, len(e.inputs),
                                    outputs, len(e.outputs)))
        return results

    @staticmethod
    def _check_out(e, info, target, shape, inputs):
        what = f"entry '{e.name}': out['{info.name}']"
        if not isinstance(target, np.ndarray):
            raise errors.InvalidArgument(f"{what} must be a numpy array")
        if target.dtype != info.dtype:
            raise errors.DTypeMismatch(f"{what} has dtype {target.dtype}; the output is "
                                       f"{info.kiln_dtype} ({info.dtype})")
        if target.shape != shape:
            raise errors.ShapeMismatch(f"{what} has shape {list(target.shape)}; the "
                                       f"output's shape is {list(shape)}")
        if not target.flags.writeable:
            raise errors.InvalidArgument(f"{what} is read-only")
        for array in inputs:
            if np.may_share_memory(target, array):
                raise errors.InvalidArgument(
                    f"{what} overlaps an input; outputs must not alias inputs")
        passed, strides = layout(target)
        if passed is not target or (strides and 0 in strides and target.size > 1):
            raise errors.InvalidArgument(
                f"{what} needs non-negative, non-overlapping, element-aligned strides")
        return target, strides

    # Generation ----------------------------------------------------------------------

    def generator(self, batch=1, capacity=None):
        """A Generator (prefill/extend/step over `batch` sequences) for a
        model compiled for generation. `capacity` is the KV cache's number
        of positions (required for decoders, ignored by Mamba). It runs on a
        context of its own."""
        self._require_open()
        gen = Generator(self, batch, capacity)
        self._generators.add(gen)
        return gen

    def generate(self, prompt_ids, max_new_tokens, capacity=None, eos_token_id=None,
                 pad_token_id=None):
        """Greedy decoding (the highest logit; the lowest id on ties).

        prompt_ids: [len] (one sequence; returns [max_new_tokens] ids) or
        [batch, len] (equal-length prompts; returns [batch, max_new_tokens]),
        int64 ids in [0, vocab). capacity: KV-cache positions (default:
        len + max_new_tokens). Without eos_token_id the whole loop runs in C
        (kiln_generator_greedy). With eos_token_id (an int or a collection),
        decoding stops once every sequence has produced one; positions after
        a sequence's end hold pad_token_id (default: the first eos id), and
        the result may be shorter than max_new_tokens."""
        self._require_open()
        prompt = np.asarray(prompt_ids)
        if prompt.dtype.kind not in "iu" and prompt.size:
            raise errors.DTypeMismatch(f"prompt_ids must be integers, got {prompt.dtype}")
        single = prompt.ndim == 1
        if prompt.ndim not in (1, 2):
            raise errors.ShapeMismatch(
                f"prompt_ids must be [len] or [batch, len], got shape {list(prompt.shape)}")
        prompt = np.ascontiguousarray(prompt.reshape(1, -1) if single else prompt,
                                      dtype=np.int64)
        batch, length = prompt.shape
        n = int(max_new_tokens)
        if length < 1:
            raise errors.InvalidArgument("prompt_ids is empty")
        if n < 1:
            raise errors.InvalidArgument(f"max_new_tokens must be >= 1, got {n}")
        need = length + n if capacity is None else int(capacity)
        gen = self._cached_generator(batch, need, capacity is not None)
        if eos_token_id is None:
            ids = gen.greedy(prompt, n)
        else:
            eos = np.atleast_1d(np.asarray(eos_token_id, dtype=np.int64))
            pad = int(eos[0]) if pad_token_id is None else int(pad_token_id)
            done = np.zeros(batch, dtype=bool)
            picked = []
            logits = gen.prefill(prompt)
            for i in range(n):
                token = np.argmax(logits, axis=-1).astype(np.int64)
                token[done] = pad
                picked.append(token)
                done |= np.isin(token, eos)
                if done.all() or i == n - 1:
                    break
                logits = gen.step(token)
            ids = np.stack(picked, axis=1)
        return ids[0] if single else ids

    def _cached_generator(self, batch, capacity, exact):
        gen = getattr(self._local, "generator", None)
        if gen is not None and gen.batch == batch and (
                gen.capacity is None or gen.capacity == capacity
                or (not exact and gen.capacity >= capacity)):
            return gen
        if gen is not None:
            gen.close()
        gen = self._local.generator = self.generator(batch, capacity)
        return gen

    # Lifetime ------------------------------------------------------------------------

    def close(self):
        """Frees the generators, contexts and the model; further calls raise
        InvalidArgument. Not safe while another thread runs the model."""
        if self._handle is None:
            return
        for gen in list(self._generators):
            gen.close()
        with self._lock:
            for context in self._contexts:
                self._lib.kiln_context_destroy(context)
            self._contexts = []
        self._local = threading.local()
        self._lib.kiln_model_close(self._handle)
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Generator:
    """Steps a model's prefill/decode_step entries with the runtime's
    kiln_generator (docs/Generation.md). Ids are int64 [batch, len] (a 1-D
    [len] is accepted when batch is 1); logits come back as float32
    [batch, vocab] for each sequence's last token."""

    def __init__(self, model, batch=1, capacity=None):
        self._model = model
        self._lib = model._lib
        self._handle = None
        batch = int(batch)
        if batch < 1:
            raise errors.InvalidArgument(f"batch must be >= 1, got {batch}")
        self._context = model._new_context(owned=False)
        handle = _p()
        try:
            _check(self._lib.kiln_generator_create(
                self._context, batch, 0 if capacity is None else int(capacity),
                ctypes.byref(handle)))
        except errors.KilnError:
            self._lib.kiln_context_destroy(self._context)
            self._context = None
            raise
        self._handle = handle
        self.batch = batch
        cap = self._lib.kiln_generator_capacity(handle)
        self.capacity = None if cap < 0 else int(cap)
        self.vocab_size = int(self._lib.kiln_generator_vocab_size(handle))

    @property
    def position(self):
        """Tokens consumed so far by each sequence."""
        self._require_open()
        return int(self._lib.kiln_generator_position(self._handle))

    def _require_open(self):
        if self._handle is None:
            raise errors.InvalidArgument("generator is closed")

    def _ids(self, ids, step=False):
        array = np.asarray(ids)
        if array.size and array.dtype.kind not in "iu":
            raise errors.DTypeMismatch(f"token ids must be integers, got {array.dtype}")
        if step:
            if array.ndim == 0 and self.batch == 1:
                array = array.reshape(1)
            ok = array.ndim == 1 and array.shape[0] == self.batch
        else:
            if array.ndim == 1 and self.batch == 1:
                array = array.reshape(1, -1)
            ok = array.ndim == 2 and array.shape[0] == self.batch
        if not ok:
            shape = "[batch]" if step else "[batch, len]"
            raise errors.ShapeMismatch(
                f"token ids must be {shape} with batch {self.batch}, got shape "
                f"{list(array.shape)}")
        return np.ascontiguousarray(array, dtype=np.int64)

    def _logits(self):
        return np.empty((self.batch, self.vocab_size), dtype=np.float32)

    def prefill(self, ids):
        """Starts new sequences at position 0; returns the last logits."""
        self._require_open()
        ids = self._ids(ids)
        logits = self._logits()
        _check(self._lib.kiln_generator_prefill(self._handle, ids.ctypes.data,
                                                ids.shape[1], logits.ctypes.data))
        return logits

    def extend(self, ids):
        """Feeds [batch, len] more tokens at the current position."""
        self._require_open()
        ids = self._ids(ids)
        logits = self._logits()
        _check(self._lib.kiln_generator_extend(self._handle, ids.ctypes.data,
                                               ids.shape[1], logits.ctypes.data))
        return logits

    def step(self, ids):
        """Feeds one token per sequence ([batch], or an int when batch is 1)."""
        self._require_open()
        ids = self._ids(ids, step=True)
        logits = self._logits()
        _check(self._lib.kiln_generator_step(self._handle, ids.ctypes.data,
                                             logits.ctypes.data))
        return logits

    def reset(self):
        self._require_open()
        _check(self._lib.kiln_generator_reset(self._handle))

    def greedy(self, prompt, n):
        """kiln_generator_greedy: [batch, n] ids after `prompt`."""
        self._require_open()
        prompt = self._ids(prompt)
        n = int(n)
        out = np.empty((self.batch, n), dtype=np.int64)
        _check(self._lib.kiln_generator_greedy(self._handle, prompt.ctypes.data,
                                               prompt.shape[1], n, out.ctypes.data))
        return out

    def states(self, copy=True):
        """{state name: array} of the current state (KV caches or SSM
        states). With copy=False the arrays view the generator's buffers and
        are valid only until the next prefill/extend/step."""
        self._require_open()
        result = {}
        view = _Tensor()
        name = ctypes.c_char_p()
        for i in range(self._lib.kiln_generator_num_states(self._handle)):
            _check(self._lib.kiln_generator_state(self._handle, i, ctypes.byref(name),
                                                  ctypes.byref(view)))
            shape = tuple(view.shape[d] for d in range(view.rank))
            dtype = DTYPES[view.dtype][1]
            count = int(np.prod(shape, dtype=np.int64))
            if count:
                buf = (ctypes.c_char * (count * dtype.itemsize)).from_address(view.data)
                array = np.frombuffer(buf, dtype=dtype).reshape(shape)
            else:
                array = np.empty(shape, dtype=dtype)
            result[name.value.decode() if name.value else f"state{i}"] = (
                array.copy() if copy else array)
        return result

    def close(self):
        """Frees the generator and its context."""
        if self._handle is not None:
            self._lib.kiln_generator_destroy(self._handle)
            self._handle = None
        if getattr(self, "_context", None) is not None:
            self._lib.kiln_context_destroy(self._context)
            self._context = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def load(path, threads=0):
    """Opens the model directory `path` that kiln-compile wrote. `threads`:
    threads per run (0: all cores), as kiln-run --threads. Raises
    ModelNotFound for a missing directory or model.so, RuntimeLibraryNotFound
    when libkiln_runtime.so cannot be found, and the runtime's error
    (VersionMismatch, CorruptModel, IOFailure, ...) when the directory does
    not load."""
    return Model(path, threads=threads)
