//===- Generation.cpp - Token generation on top of the entry API ----------===//
//
// Implements the kiln_generator_* functions of kiln_runtime.h with the public
// entry API only. The generator reads the roles of tensors from the names in
// the signatures of `prefill` and `decode_step` (docs/Generation.md), not
// from a model family: a `decode_step` input named like one of its outputs
// is state, `input_ids` carries tokens, `positions` the position and
// `attention_mask` is all ones.
//
//===----------------------------------------------------------------------===//

#include "Support.h"
#include "kiln/Runtime/kiln_runtime.h"

#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#define KILN_EXPORT extern "C" __attribute__((visibility("default")))

using namespace kiln::runtime;

namespace {
const char kPrefill[] = "prefill";
const char kDecodeStep[] = "decode_step";

/// 64-byte aligned memory that only grows, so that steady-state calls of
/// the same size never allocate.
class Buffer {
public:
  Buffer() = default;
  Buffer(Buffer &&other) noexcept : ptr(other.ptr), size(other.size) {
    other.ptr = nullptr;
    other.size = 0;
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { std::free(ptr); }

  /// Makes room for `bytes`; contents are lost when it grows. False when out
  /// of memory.
  bool reserve(uint64_t bytes) {
    if (bytes <= size && ptr)
      return true;
    std::free(ptr);
    ptr = nullptr;
    size = 0;
    if (bytes > SIZE_MAX - 63)
      return false;
    // Round up: aligned_alloc wants a multiple of the alignment.
    uint64_t rounded = bytes ? (bytes + 63) / 64 * 64 : 64;
    ptr = std::aligned_alloc(64, static_cast<size_t>(rounded));
    if (!ptr)
      return false;
    size = rounded;
    return true;
  }

  void *data() const { return ptr; }

private:
  void *ptr = nullptr;
  uint64_t size = 0;
};

enum class Role { Ids, Positions, Mask, State, Logits, Unused };

/// How the generator fills one input or output of an entry.
struct Slot {
  Role role = Role::Unused;
  /// For Role::State, index into kiln_generator::states.
  int32_t state = -1;
  const char *name = nullptr;
  kiln_dtype dtype = KILN_DTYPE_F32;
  /// Bound shape; dims in `seqDims` follow the token count of each call.
  std::vector<int64_t> shape;
  std::vector<int32_t> seqDims;
  /// Memory for masks, ignored outputs and logits the caller cannot take.
  Buffer scratch;
  /// Elements of `scratch` known to hold ones (masks only).
  int64_t filled = 0;
};

/// One entry and the tensors the generator passes to it.
struct Call {
  const char *name = nullptr;
  int32_t entry = -1;
  std::vector<Slot> inputs, outputs;
  std::vector<kiln_tensor> inputTensors, outputTensors;
  int32_t logits = -1;
};

/// One state tensor: the current value lives in buffers[current], the next
/// call writes buffers[1 - current].
struct StateTensor {
  const char *name = nullptr;
  kiln_dtype dtype = KILN_DTYPE_F32;
  std::vector<int64_t> shape;
  Buffer buffers[2];
};

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string result = "[";
  for (size_t d = 0; d < shape.size(); ++d)
    result += (d ? ", " : "") + std::to_string(shape[d]);
  return result + "]";
}

std::string formatInfoShape(const kiln_tensor_info &info) {
  std::string result = "[";
  for (int32_t d = 0; d < info.rank; ++d) {
    if (d)
      result += ", ";
    if (info.dims[d] < 0)
      result += info.dim_names[d] ? info.dim_names[d] : "?";
    else
      result += std::to_string(info.dims[d]);
  }
  return result + "]";
}

bool isDim(const kiln_tensor_info &info, int32_t d, const char *name) {
  return info.dims[d] < 0 && info.dim_names[d] &&
         std::strcmp(info.dim_names[d], name) == 0;
}

/// Element count of `shape` times `elementSize`; false on overflow.
bool byteSize(const std::vector<int64_t> &shape, size_t elementSize,
              uint64_t &bytes) {
  uint64_t total = elementSize;
  for (int64_t dim : shape)
    if (__builtin_mul_overflow(total, static_cast<uint64_t>(dim), &total))
      return false;
  bytes = total;
  return true;
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

/// Writes `count` ones of `dtype` to `data`.
void fillOnes(void *data, kiln_dtype dtype, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
    case KILN_DTYPE_F32:
      static_cast<float *>(data)[i] = 1.0f;
      break;
    case KILN_DTYPE_F16:
      static_cast<uint16_t *>(data)[i] = 0x3c00;
      break;
    case KILN_DTYPE_BF16:
      static_cast<uint16_t *>(data)[i] = 0x3f80;
      break;
    case KILN_DTYPE_I8:
    case KILN_DTYPE_U8:
    case KILN_DTYPE_BOOL:
      static_cast<uint8_t *>(data)[i] = 1;
      break;
    case KILN_DTYPE_I32:
      static_cast<int32_t *>(data)[i] = 1;
      break;
    case KILN_DTYPE_I64:
      static_cast<int64_t *>(data)[i] = 1;
      break;
    }
  }
}

/// Index of the largest score; the lowest index wins ties and NaN never
/// wins, so the pick is deterministic.
int64_t argmax(const float *scores, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (scores[i] > scores[best] ||
        (scores[best] != scores[best] && scores[i] == scores[i]))
      best = i;
  return best;
}
} // namespace

struct kiln_generator {
  kiln_context *context = nullptr;
  kiln_model *model = nullptr;
  int64_t batch = 0;
  /// -1 when the state has no "capacity" dim.
  int64_t capacity = -1;
  int64_t vocab = 0;
  int64_t position = 0;
  bool prefilled = false;
  /// Which of each state's two buffers holds the current state.
  int current = 0;
  Call prefill, decode;
  std::vector<StateTensor> states;
  /// The value of the `positions` input, one per sequence.
  std::vector<int64_t> positions;
  /// Scratch of kiln_generator_greedy.
  std::vector<float> greedyLogits;
  std::vector<int64_t> greedyTokens;
};

namespace {
/// Binds the dims of an input descriptor: static sizes, "batch", "capacity"
/// and "seq" (1 until a call sets the token count).
kiln_status bindInput(const kiln_generator &gen, const Call &call,
                      const kiln_tensor_info &info, Slot &slot) {
  slot.name = info.name;
  slot.dtype = info.dtype;
  slot.shape.assign(static_cast<size_t>(info.rank), 0);
  for (int32_t d = 0; d < info.rank; ++d) {
    if (info.dims[d] >= 0) {
      slot.shape[d] = info.dims[d];
    } else if (isDim(info, d, "batch")) {
      slot.shape[d] = gen.batch;
    } else if (isDim(info, d, "capacity")) {
      slot.shape[d] = gen.capacity;
    } else if (isDim(info, d, "seq") && slot.role != Role::State) {
      slot.shape[d] = 1;
      slot.seqDims.push_back(d);
    } else {
      return fail(KILN_ERROR_SHAPE_MISMATCH,
                  formatString("entry '%s' input '%s' %s: the generator "
                               "cannot size dim %d ('%s'); it binds "
                               "'batch', 'capacity'%s",
                               call.name, info.name,
                               formatInfoShape(info).c_str(), d,
                               info.dim_names[d] ? info.dim_names[d] : "?",
                               slot.role == Role::State ? "" : " and 'seq'"));
    }
  }
  return KILN_OK;
}

/// Finds `name` among the states; -1 if it is not one.
int32_t findState(const kiln_generator &gen, const char *name) {
  for (size_t s = 0; s < gen.states.size(); ++s)
    if (std::strcmp(gen.states[s].name, name) == 0)
      return static_cast<int32_t>(s);
  return -1;
}

/// Classifies and binds every input and output of `call`.
kiln_status planCall(kiln_generator &gen, Call &call) {
  kiln_model *model = gen.model;
  int32_t numInputs = kiln_entry_num_inputs(model, call.entry);
  int32_t numOutputs = kiln_entry_num_outputs(model, call.entry);
  call.inputs.resize(static_cast<size_t>(numInputs));
  call.outputs.resize(static_cast<size_t>(numOutputs));
  bool hasIds = false;
  for (int32_t i = 0; i < numInputs; ++i) {
    kiln_tensor_info info;
    if (kiln_status status = kiln_entry_input_info(model, call.entry, i, &info))
      return status;
    Slot &slot = call.inputs[i];
    if (std::strcmp(info.name, "input_ids") == 0) {
      slot.role = Role::Ids;
      hasIds = true;
    } else if (std::strcmp(info.name, "positions") == 0) {
      slot.role = Role::Positions;
    } else if (std::strcmp(info.name, "attention_mask") == 0) {
      slot.role = Role::Mask;
    } else if ((slot.state = findState(gen, info.name)) >= 0) {
      slot.role = Role::State;
    } else {
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  formatString("entry '%s' input '%s' is none the generator "
                               "can fill (input_ids, positions, "
                               "attention_mask or a state that '%s' "
                               "returns)",
                               call.name, info.name, kDecodeStep));
    }
    if (kiln_status status = bindInput(gen, call, info, slot))
      return status;
    bool ok = true;
    if (slot.role == Role::Ids)
      ok = info.dtype == KILN_DTYPE_I64 && info.rank == 2 &&
           slot.shape[0] == gen.batch && isDim(info, 1, "seq");
    else if (slot.role == Role::Positions)
      ok = info.dtype == KILN_DTYPE_I64 && info.rank == 1 &&
           slot.shape[0] == gen.batch;
    if (!ok)
      return fail(
          KILN_ERROR_SHAPE_MISMATCH,
          formatString("entry '%s' input '%s' is %s%s but the "
                       "generator needs i64%s for batch %" PRId64,
                       call.name, info.name, kiln_dtype_name(info.dtype),
                       formatInfoShape(info).c_str(),
                       slot.role == Role::Ids ? "[batch, seq]" : "[batch]",
                       gen.batch));
  }
  if (!hasIds)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("entry '%s' has no 'input_ids' input: it was not "
                             "compiled for generation",
                             call.name));

  // Output shapes come from the runtime's own inference; the data pointers
  // are placeholders as only shapes are read.
  static int64_t placeholder;
  call.inputTensors.resize(static_cast<size_t>(numInputs));
  for (int32_t i = 0; i < numInputs; ++i) {
    Slot &slot = call.inputs[i];
    call.inputTensors[i] = {slot.dtype, static_cast<int32_t>(slot.shape.size()),
                            slot.shape.data(), nullptr, &placeholder};
  }
  for (int32_t o = 0; o < numOutputs; ++o) {
    kiln_tensor_info info;
    if (kiln_status status =
            kiln_entry_output_info(model, call.entry, o, &info))
      return status;
    Slot &slot = call.outputs[o];
    slot.name = info.name;
    slot.dtype = info.dtype;
    slot.shape.assign(static_cast<size_t>(info.rank), 0);
    if (kiln_status status =
            kiln_entry_output_shape(model, call.entry, call.inputTensors.data(),
                                    numInputs, o, slot.shape.data()))
      return status;
    for (int32_t d = 0; d < info.rank; ++d)
      if (isDim(info, d, "seq"))
        slot.seqDims.push_back(d);
    if ((slot.state = findState(gen, info.name)) >= 0) {
      slot.role = Role::State;
      if (!slot.seqDims.empty())
        return fail(KILN_ERROR_SHAPE_MISMATCH,
                    formatString("entry '%s' state output '%s' %s depends on "
                                 "'seq'; state must not grow with the "
                                 "tokens of a call",
                                 call.name, info.name,
                                 formatInfoShape(info).c_str()));
    } else if (std::strcmp(info.name, "logits") == 0) {
      slot.role = Role::Logits;
      call.logits = o;
      if (info.dtype != KILN_DTYPE_F32 || info.rank != 3 ||
          slot.shape[0] != gen.batch || !isDim(info, 1, "seq") ||
          info.dims[2] <= 0)
        return fail(KILN_ERROR_SHAPE_MISMATCH,
                    formatString("entry '%s' output 'logits' is %s%s but the "
                                 "generator needs f32[batch, seq, vocab] "
                                 "with a static vocab",
                                 call.name, kiln_dtype_name(info.dtype),
                                 formatInfoShape(info).c_str()));
    }
  }
  if (call.logits < 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("entry '%s' has no 'logits' output: it was not "
                             "compiled for generation",
                             call.name));

  call.outputTensors.resize(static_cast<size_t>(numOutputs));
  for (int32_t o = 0; o < numOutputs; ++o) {
    Slot &slot = call.outputs[o];
    call.outputTensors[o] = {slot.dtype,
                             static_cast<int32_t>(slot.shape.size()),
                             slot.shape.data(), nullptr, nullptr};
  }
  return KILN_OK;
}

/// The states are the inputs of decode_step named like one of its outputs.
kiln_status collectStates(kiln_generator &gen) {
  kiln_model *model = gen.model;
  int32_t entry = gen.decode.entry;
  int32_t numInputs = kiln_entry_num_inputs(model, entry);
  int32_t numOutputs = kiln_entry_num_outputs(model, entry);
  size_t count = 0;
  std::vector<kiln_tensor_info> stateInfos;
  for (int32_t i = 0; i < numInputs; ++i) {
    kiln_tensor_info input;
    if (kiln_status status = kiln_entry_input_info(model, entry, i, &input))
      return status;
    for (int32_t o = 0; o < numOutputs; ++o) {
      kiln_tensor_info output;
      if (kiln_status status = kiln_entry_output_info(model, entry, o, &output))
        return status;
      if (std::strcmp(input.name, output.name) != 0)
        continue;
      if (input.dtype != output.dtype)
        return fail(KILN_ERROR_DTYPE_MISMATCH,
                    formatString("entry '%s' state '%s' is %s as input but %s "
                                 "as output",
                                 kDecodeStep, input.name,
                                 kiln_dtype_name(input.dtype),
                                 kiln_dtype_name(output.dtype)));
      stateInfos.push_back(input);
      ++count;
    }
  }
  // Sized once: buffers and shapes are referenced by pointer from now on.
  gen.states.resize(count);
  for (size_t s = 0; s < count; ++s) {
    gen.states[s].name = stateInfos[s].name;
    gen.states[s].dtype = stateInfos[s].dtype;
  }
  return KILN_OK;
}

/// True when an input of `entry` has a dynamic dim named "capacity".
bool usesCapacity(kiln_model *model, int32_t entry) {
  for (int32_t i = 0; i < kiln_entry_num_inputs(model, entry); ++i) {
    kiln_tensor_info info;
    if (kiln_entry_input_info(model, entry, i, &info) != KILN_OK)
      continue;
    for (int32_t d = 0; d < info.rank; ++d)
      if (isDim(info, d, "capacity"))
        return true;
  }
  return false;
}

/// Checks that both entries agree on every state's dtype and shape (the
/// shape of decode_step's input is the reference), and allocates its two
/// buffers.
kiln_status allocateStates(kiln_generator &gen) {
  for (size_t s = 0; s < gen.states.size(); ++s) {
    StateTensor &state = gen.states[s];
    auto isThis = [&](const Slot &slot) {
      return slot.role == Role::State && slot.state == static_cast<int32_t>(s);
    };
    for (const Slot &slot : gen.decode.inputs)
      if (isThis(slot))
        state.shape = slot.shape;
    bool produced = false;
    for (const Call *call : {&gen.decode, &gen.prefill}) {
      for (bool output : {false, true}) {
        for (const Slot &slot : output ? call->outputs : call->inputs) {
          if (!isThis(slot))
            continue;
          produced |= call == &gen.prefill && output;
          if (slot.shape == state.shape && slot.dtype == state.dtype)
            continue;
          return fail(KILN_ERROR_SHAPE_MISMATCH,
                      formatString("state '%s' is %s%s as '%s' input but "
                                   "%s%s as '%s' %s",
                                   state.name, kiln_dtype_name(state.dtype),
                                   formatShape(state.shape).c_str(),
                                   kDecodeStep, kiln_dtype_name(slot.dtype),
                                   formatShape(slot.shape).c_str(), call->name,
                                   output ? "output" : "input"));
        }
      }
    }
    if (!produced)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  formatString("entry '%s' does not return state '%s' that "
                               "'%s' takes",
                               kPrefill, state.name, kDecodeStep));
    uint64_t bytes = 0;
    if (!byteSize(state.shape, kiln_dtype_size(state.dtype), bytes))
      return fail(KILN_ERROR_OUT_OF_MEMORY,
                  formatString("state '%s' %s is too large", state.name,
                               formatShape(state.shape).c_str()));
    for (Buffer &buffer : state.buffers) {
      if (!buffer.reserve(bytes))
        return fail(KILN_ERROR_OUT_OF_MEMORY,
                    formatString("no memory for state '%s' %s (%" PRIu64
                                 " bytes, twice)",
                                 state.name, formatShape(state.shape).c_str(),
                                 bytes));
      // Zeros, so that views show something defined before a prefill.
      std::memset(buffer.data(), 0, static_cast<size_t>(bytes));
    }
  }
  return KILN_OK;
}

/// Grows `slot.scratch` for its current shape.
bool reserveScratch(Slot &slot) {
  uint64_t bytes = 0;
  return byteSize(slot.shape, kiln_dtype_size(slot.dtype), bytes) &&
         slot.scratch.reserve(bytes);
}

kiln_status checkIds(const kiln_generator &gen, const int64_t *ids, int64_t len,
                     const char *what) {
  if (!ids)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: ids is null", what));
  if (len <= 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: %" PRId64 " tokens per sequence; give at "
                             "least one",
                             what, len));
  // Compiled embeddings index without bounds checks.
  for (int64_t b = 0; b < gen.batch; ++b)
    for (int64_t t = 0; t < len; ++t) {
      int64_t id = ids[b * len + t];
      if (id < 0 || id >= gen.vocab)
        return fail(KILN_ERROR_INVALID_ARGUMENT,
                    formatString("%s: token id %" PRId64 " (sequence %" PRId64
                                 ", token %" PRId64 ") is outside the "
                                 "vocabulary [0, %" PRId64 ")",
                                 what, id, b, t, gen.vocab));
    }
  if (gen.capacity >= 0 && len > gen.capacity - gen.position)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: position %" PRId64 " + %" PRId64
                             " tokens exceeds the KV-cache capacity %" PRId64,
                             what, gen.position, len, gen.capacity));
  return KILN_OK;
}

/// Runs `call` on `len` tokens per sequence at the current position, then
/// swaps the state buffers. On failure the previous state stays current.
kiln_status runCall(kiln_generator &gen, Call &call, const int64_t *ids,
                    int64_t len, float *logits) {
  int64_t vocab = gen.vocab;
  int64_t count = 0;
  if (__builtin_mul_overflow(gen.batch, len, &count) ||
      __builtin_mul_overflow(count, vocab, &count))
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("'%s': %" PRId64 " tokens per sequence is too "
                             "many",
                             call.name, len));
  for (int pass = 0; pass < 2; ++pass)
    for (Slot &slot : pass ? call.outputs : call.inputs)
      for (int32_t d : slot.seqDims)
        slot.shape[d] = len;

  int next = 1 - gen.current;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    Slot &slot = call.inputs[i];
    void *data = nullptr;
    switch (slot.role) {
    case Role::Ids:
      // The runtime never writes inputs.
      data = const_cast<int64_t *>(ids);
      break;
    case Role::Positions:
      for (int64_t &p : gen.positions)
        p = gen.position;
      data = gen.positions.data();
      break;
    case Role::Mask: {
      int64_t elements = numElements(slot.shape);
      if (elements > slot.filled) {
        if (!reserveScratch(slot))
          return fail(KILN_ERROR_OUT_OF_MEMORY,
                      formatString("'%s': no memory for input '%s'", call.name,
                                   slot.name));
        fillOnes(slot.scratch.data(), slot.dtype, elements);
        slot.filled = elements;
      }
      data = slot.scratch.data();
      break;
    }
    case Role::State:
      data = gen.states[slot.state].buffers[gen.current].data();
      break;
    case Role::Logits:
    case Role::Unused:
      break;
    }
    call.inputTensors[i].data = data;
  }
  float *logitsData = nullptr;
  for (size_t o = 0; o < call.outputs.size(); ++o) {
    Slot &slot = call.outputs[o];
    void *data = nullptr;
    if (slot.role == Role::State) {
      data = gen.states[slot.state].buffers[next].data();
    } else if (slot.role == Role::Logits && len == 1 && logits) {
      // [batch, 1, vocab] is the caller's [batch, vocab]: no copy.
      data = logits;
    } else {
      if (!reserveScratch(slot))
        return fail(KILN_ERROR_OUT_OF_MEMORY,
                    formatString("'%s': no memory for output '%s' %s",
                                 call.name, slot.name,
                                 formatShape(slot.shape).c_str()));
      data = slot.scratch.data();
    }
    if (slot.role == Role::Logits)
      logitsData = static_cast<float *>(data);
    call.outputTensors[o].data = data;
  }

  if (kiln_status status =
          kiln_context_run(gen.context, call.entry, call.inputTensors.data(),
                           static_cast<int32_t>(call.inputTensors.size()),
                           call.outputTensors.data(),
                           static_cast<int32_t>(call.outputTensors.size())))
    return status;
  gen.current = next;
  if (logits && logitsData != logits)
    for (int64_t b = 0; b < gen.batch; ++b)
      std::memcpy(logits + b * vocab, logitsData + (b * len + len - 1) * vocab,
                  static_cast<size_t>(vocab) * sizeof(float));
  return KILN_OK;
}

kiln_status checkGenerator(const kiln_generator *gen, const char *what) {
  if (!gen)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: generator is null", what));
  return KILN_OK;
}

kiln_status createGenerator(kiln_generator &gen, int64_t capacity) {
  kiln_model *model = gen.model;
  for (auto [call, name] : {std::make_pair(&gen.prefill, kPrefill),
                            std::make_pair(&gen.decode, kDecodeStep)}) {
    call->name = name;
    if (kiln_model_find_entry(model, name, &call->entry) != KILN_OK)
      return fail(KILN_ERROR_NOT_FOUND,
                  formatString("model has no '%s' entry: it was not compiled "
                               "for generation",
                               name));
  }
  if (usesCapacity(model, gen.decode.entry) ||
      usesCapacity(model, gen.prefill.entry)) {
    if (capacity <= 0)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  formatString("kiln_generator_create: capacity is %" PRId64
                               " but the model keeps a KV cache of "
                               "'capacity' positions; give a capacity > 0",
                               capacity));
    gen.capacity = capacity;
  }
  if (kiln_status status = collectStates(gen))
    return status;
  if (kiln_status status = planCall(gen, gen.decode))
    return status;
  if (kiln_status status = planCall(gen, gen.prefill))
    return status;
  if (kiln_status status = allocateStates(gen))
    return status;
  int64_t decodeVocab = gen.decode.outputs[gen.decode.logits].shape[2];
  int64_t prefillVocab = gen.prefill.outputs[gen.prefill.logits].shape[2];
  if (decodeVocab != prefillVocab)
    return fail(KILN_ERROR_SHAPE_MISMATCH,
                formatString("'%s' returns %" PRId64 " logits per token but "
                             "'%s' %" PRId64,
                             kPrefill, prefillVocab, kDecodeStep, decodeVocab));
  gen.vocab = decodeVocab;
  gen.positions.assign(static_cast<size_t>(gen.batch), 0);
  return KILN_OK;
}
} // namespace

KILN_EXPORT kiln_status kiln_generator_create(kiln_context *context,
                                              int64_t batch, int64_t capacity,
                                              kiln_generator **generator) {
  if (!generator)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_generator_create: generator is null");
  *generator = nullptr;
  if (!context)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_generator_create: context is null");
  if (batch <= 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("kiln_generator_create: batch is %" PRId64
                             "; it must be positive",
                             batch));
  if (capacity < 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("kiln_generator_create: capacity is %" PRId64
                             "; it must not be negative",
                             capacity));
  kiln_generator *result = new (std::nothrow) kiln_generator();
  if (!result)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "cannot allocate the generator");
  result->context = context;
  result->model = kiln_context_model(context);
  result->batch = batch;
  if (kiln_status status = createGenerator(*result, capacity)) {
    delete result;
    return status;
  }
  *generator = result;
  return KILN_OK;
}

KILN_EXPORT void kiln_generator_destroy(kiln_generator *generator) {
  delete generator;
}

KILN_EXPORT int64_t kiln_generator_batch(const kiln_generator *generator) {
  return generator ? generator->batch : -1;
}

KILN_EXPORT int64_t kiln_generator_capacity(const kiln_generator *generator) {
  return generator ? generator->capacity : -1;
}

KILN_EXPORT int64_t kiln_generator_vocab_size(const kiln_generator *generator) {
  return generator ? generator->vocab : -1;
}

KILN_EXPORT int64_t kiln_generator_position(const kiln_generator *generator) {
  return generator ? generator->position : -1;
}

KILN_EXPORT kiln_status kiln_generator_prefill(kiln_generator *generator,
                                               const int64_t *ids, int64_t len,
                                               float *logits) {
  const char *what = "kiln_generator_prefill";
  if (kiln_status status = checkGenerator(generator, what))
    return status;
  // Prefill writes positions from 0 whatever came before.
  int64_t saved = generator->position;
  generator->position = 0;
  kiln_status status = checkIds(*generator, ids, len, what);
  if (status == KILN_OK)
    status = runCall(*generator, generator->prefill, ids, len, logits);
  if (status != KILN_OK) {
    generator->position = saved;
    return status;
  }
  generator->position = len;
  generator->prefilled = true;
  return KILN_OK;
}

KILN_EXPORT kiln_status kiln_generator_extend(kiln_generator *generator,
                                              const int64_t *ids, int64_t len,
                                              float *logits) {
  const char *what = "kiln_generator_extend";
  if (kiln_status status = checkGenerator(generator, what))
    return status;
  if (!generator->prefilled)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: no sequence yet; call "
                             "kiln_generator_prefill first",
                             what));
  if (kiln_status status = checkIds(*generator, ids, len, what))
    return status;
  if (kiln_status status =
          runCall(*generator, generator->decode, ids, len, logits))
    return status;
  generator->position += len;
  return KILN_OK;
}

KILN_EXPORT kiln_status kiln_generator_step(kiln_generator *generator,
                                            const int64_t *ids, float *logits) {
  return kiln_generator_extend(generator, ids, 1, logits);
}

KILN_EXPORT kiln_status kiln_generator_reset(kiln_generator *generator) {
  if (kiln_status status = checkGenerator(generator, "kiln_generator_reset"))
    return status;
  generator->position = 0;
  generator->prefilled = false;
  return KILN_OK;
}

KILN_EXPORT int32_t kiln_generator_num_states(const kiln_generator *generator) {
  return generator ? static_cast<int32_t>(generator->states.size()) : -1;
}

KILN_EXPORT kiln_status kiln_generator_state(const kiln_generator *generator,
                                             int32_t index, const char **name,
                                             kiln_tensor *view) {
  const char *what = "kiln_generator_state";
  if (kiln_status status = checkGenerator(generator, what))
    return status;
  if (!view)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: view is null", what));
  int32_t count = static_cast<int32_t>(generator->states.size());
  if (index < 0 || index >= count)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: index %d is out of range (%d states)", what,
                             index, count));
  const StateTensor &state = generator->states[index];
  if (name)
    *name = state.name;
  view->dtype = state.dtype;
  view->rank = static_cast<int32_t>(state.shape.size());
  view->shape = state.shape.data();
  view->strides = nullptr;
  view->data = state.buffers[generator->current].data();
  return KILN_OK;
}

KILN_EXPORT kiln_status kiln_generator_greedy(kiln_generator *generator,
                                              const int64_t *prompt,
                                              int64_t len, int64_t n,
                                              int64_t *outIds) {
  const char *what = "kiln_generator_greedy";
  if (kiln_status status = checkGenerator(generator, what))
    return status;
  if (!outIds)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: out_ids is null", what));
  if (n <= 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: %" PRId64 " tokens to generate; ask for at "
                             "least one",
                             what, n));
  kiln_generator &gen = *generator;
  // Fail before any work: the last pick is never fed back, so the state
  // needs len + n - 1 positions.
  if (gen.capacity >= 0 && len > 0 && n - 1 > gen.capacity - len)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("%s: a %" PRId64 "-token prompt and %" PRId64
                             " generated tokens need %" PRId64
                             " positions but the KV-cache capacity is "
                             "%" PRId64,
                             what, len, n, len + n - 1, gen.capacity));
  uint64_t logitsCount = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(gen.batch),
                             static_cast<uint64_t>(gen.vocab), &logitsCount))
    return fail(KILN_ERROR_OUT_OF_MEMORY, "logits do not fit in memory");
  try {
    gen.greedyLogits.resize(static_cast<size_t>(logitsCount));
    gen.greedyTokens.resize(static_cast<size_t>(gen.batch));
  } catch (const std::bad_alloc &) {
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                formatString("%s: no memory for the logits", what));
  }
  float *logits = gen.greedyLogits.data();
  int64_t *tokens = gen.greedyTokens.data();
  if (kiln_status status = kiln_generator_prefill(&gen, prompt, len, logits))
    return status;
  for (int64_t i = 0;; ++i) {
    for (int64_t b = 0; b < gen.batch; ++b) {
      tokens[b] = argmax(logits + b * gen.vocab, gen.vocab);
      outIds[b * n + i] = tokens[b];
    }
    if (i + 1 == n)
      return KILN_OK;
    if (kiln_status status = kiln_generator_step(&gen, tokens, logits))
      return status;
  }
}
