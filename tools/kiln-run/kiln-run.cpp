//===- kiln-run.cpp - Run a compiled Kiln model ---------------------------===//
//
// Loads a directory written by kiln-compile, feeds it .npy inputs (or random
// data), writes the outputs as .npy and optionally reports latency; or
// greedily generates tokens with a model compiled for generation. Only the
// runtime and the .npy I/O are linked, so this deploys next to a model.
//
//===----------------------------------------------------------------------===//

#include "kiln/Runtime/Npy.h"
#include "kiln/Runtime/kiln_runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace kiln::runtime;

namespace {
const char kUsage[] =
    "usage: kiln-run OUTDIR [options]\n"
    "       kiln-run OUTDIR --generate N --prompt-ids IDS [--capacity C]\n"
    "\n"
    "Runs an entry of the model that kiln-compile wrote to OUTDIR, or, with\n"
    "--generate, greedily decodes N tokens after the prompt (batch 1) with\n"
    "the model's prefill/decode_step entries. --generate prints the N ids,\n"
    "space-separated, as the only line on stdout and timings on stderr.\n"
    "\n"
    "options:\n"
    "  --entry NAME           entry to run (default: 'forward' if present,\n"
    "                         else the first)\n"
    "  --list                 print the entries and their signatures, then "
    "exit\n"
    "  --input NAME=FILE.npy  bind input NAME to a .npy file (repeatable)\n"
    "  --random-inputs        fill inputs not given by --input with random "
    "data\n"
    "  --dim NAME=SIZE        size of dynamic dim NAME for random inputs\n"
    "  --int-range LO,HI      integer random inputs lie in [LO, HI) "
    "(default 0,100)\n"
    "  --seed N               seed of the random inputs (default 0)\n"
    "  --output-dir DIR       where to write <output>.npy (default: .)\n"
    "  --warmup N             untimed runs before the timed ones (default 0)\n"
    "  --iterations N         timed runs; prints min/median/mean latency\n"
    "  --threads N            threads per run (default 0: all cores)\n"
    "  --device cpu|cuda      where the model runs; must match its\n"
    "                         kiln-compile --target (default cpu)\n"
    "  --generate N           generate N > 0 tokens (needs --prompt-ids)\n"
    "  --prompt-ids IDS       the prompt's token ids, comma-separated\n"
    "  --capacity C           KV-cache positions (default: prompt + N)\n"
    "  --help                 print this message\n";

struct Options {
  std::string modelDir;
  std::string entry;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::vector<std::pair<std::string, int64_t>> dims;
  bool randomInputs = false;
  bool list = false;
  int64_t intLow = 0;
  int64_t intHigh = 100;
  uint64_t seed = 0;
  std::string outputDir = ".";
  int64_t warmup = 0;
  int64_t iterations = 0;
  int64_t threads = 0;
  std::string device = "cpu";
  /// Tokens to generate; 0 when not generating.
  int64_t generate = 0;
  std::vector<int64_t> promptIds;
  bool hasPromptIds = false;
  /// -1: prompt length + generate.
  int64_t capacity = -1;
};

int error(const std::string &message) {
  std::fprintf(stderr, "kiln-run: error: %s\n", message.c_str());
  return 1;
}

int runtimeError(const std::string &what) {
  return error(what + ": " + kiln_last_error());
}

bool parseInt(const std::string &text, int64_t &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  value = parsed;
  return true;
}

/// Splits "NAME=VALUE"; false if there is no '=' or either side is empty.
bool splitAssignment(const std::string &text, std::string &name,
                     std::string &value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return false;
  name = text.substr(0, eq);
  value = text.substr(eq + 1);
  return true;
}

/// Parses "1,2,3" into non-negative ids; false if empty or malformed.
bool parseIdList(const std::string &text, std::vector<int64_t> &ids) {
  ids.clear();
  size_t begin = 0;
  while (true) {
    size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma - begin);
    // Digits only: strtoll alone would take " 1" and "+1".
    int64_t id = 0;
    if (item.find_first_not_of("0123456789") != std::string::npos ||
        !parseInt(item, id))
      return false;
    ids.push_back(id);
    if (comma == std::string::npos)
      return true;
    begin = comma + 1;
  }
}

/// Parses argv. Returns -1 to go on, otherwise the exit code.
int parseArgs(int argc, char **argv, Options &options) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    std::string flag = arg, value;
    bool hasValue = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    if (flag == "--random-inputs" || flag == "--list") {
      if (hasValue)
        return error("option '" + flag + "' takes no value");
      (flag == "--list" ? options.list : options.randomInputs) = true;
      continue;
    }
    static const char *const kValued[] = {
        "--entry",   "--input",      "--dim",        "--int-range",
        "--seed",    "--output-dir", "--warmup",     "--iterations",
        "--threads", "--generate",   "--prompt-ids", "--capacity",
        "--device"};
    if (std::find_if(std::begin(kValued), std::end(kValued),
                     [&](const char *known) { return flag == known; }) ==
        std::end(kValued))
      return error("unknown option '" + flag + "' (see --help)");
    if (!hasValue) {
      if (i + 1 >= argc)
        return error("option '" + flag + "' needs a value");
      value = argv[++i];
    }
    int64_t number = 0;
    std::string name, rhs;
    if (flag == "--entry") {
      options.entry = value;
    } else if (flag == "--input") {
      if (!splitAssignment(value, name, rhs))
        return error("--input wants NAME=FILE.npy, got '" + value + "'");
      options.inputs.emplace_back(name, rhs);
    } else if (flag == "--dim") {
      if (!splitAssignment(value, name, rhs) || !parseInt(rhs, number) ||
          number < 0)
        return error("--dim wants NAME=SIZE with SIZE >= 0, got '" + value +
                     "'");
      options.dims.emplace_back(name, number);
    } else if (flag == "--int-range") {
      size_t comma = value.find(',');
      if (comma == std::string::npos ||
          !parseInt(value.substr(0, comma), options.intLow) ||
          !parseInt(value.substr(comma + 1), options.intHigh) ||
          options.intLow >= options.intHigh)
        return error("--int-range wants LO,HI with LO < HI, got '" + value +
                     "'");
    } else if (flag == "--device") {
      if (value != "cpu" && value != "cuda")
        return error("--device wants cpu or cuda, got '" + value + "'");
      options.device = value;
    } else if (flag == "--output-dir") {
      options.outputDir = value;
    } else if (flag == "--generate") {
      if (!parseInt(value, options.generate) || options.generate <= 0)
        return error("--generate wants a positive number of tokens, got '" +
                     value + "'");
    } else if (flag == "--prompt-ids") {
      if (!parseIdList(value, options.promptIds))
        return error("--prompt-ids wants comma-separated non-negative token "
                     "ids, got '" +
                     value + "'");
      options.hasPromptIds = true;
    } else if (flag == "--capacity") {
      if (!parseInt(value, options.capacity) || options.capacity < 0)
        return error("--capacity wants a non-negative integer, got '" + value +
                     "'");
    } else {
      if (!parseInt(value, number) || number < 0)
        return error("option '" + flag +
                     "' wants a non-negative integer, got '" + value + "'");
      if (flag == "--seed")
        options.seed = static_cast<uint64_t>(number);
      else if (flag == "--warmup")
        options.warmup = number;
      else if (flag == "--iterations")
        options.iterations = number;
      else
        options.threads = number;
    }
  }
  if (positional.size() != 1) {
    return error(positional.empty() ? "missing the model directory (see --help)"
                                    : "expected one model directory, got " +
                                          std::to_string(positional.size()) +
                                          " positional arguments");
  }
  if (options.threads > INT32_MAX)
    return error("--threads is too large");
  if (options.generate == 0) {
    if (options.hasPromptIds || options.capacity >= 0)
      return error("--prompt-ids and --capacity need --generate N");
  } else {
    if (!options.hasPromptIds)
      return error("--generate needs --prompt-ids ID,ID,...");
    const char *conflict = !options.entry.empty()    ? "--entry"
                           : !options.inputs.empty() ? "--input"
                           : options.randomInputs    ? "--random-inputs"
                           : options.list            ? "--list"
                           : !options.dims.empty()   ? "--dim"
                           : options.warmup          ? "--warmup"
                           : options.iterations      ? "--iterations"
                                                     : nullptr;
    if (conflict)
      return error(std::string("--generate cannot be combined with ") +
                   conflict);
    if (options.capacity < 0 &&
        options.generate >
            INT64_MAX - static_cast<int64_t>(options.promptIds.size()))
      return error("--generate is too large");
  }
  options.modelDir = positional[0];
  return -1;
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

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string result = "[";
  for (size_t d = 0; d < shape.size(); ++d)
    result += (d ? ", " : "") + std::to_string(shape[d]);
  return result + "]";
}

void printSignatures(kiln_model *model) {
  for (int32_t e = 0; e < kiln_model_num_entries(model); ++e) {
    std::printf("entry '%s'\n", kiln_model_entry_name(model, e));
    kiln_tensor_info info;
    for (int32_t i = 0; i < kiln_entry_num_inputs(model, e); ++i)
      if (kiln_entry_input_info(model, e, i, &info) == KILN_OK)
        std::printf("  input  %s: %s%s\n", info.name,
                    kiln_dtype_name(info.dtype), formatInfoShape(info).c_str());
    for (int32_t o = 0; o < kiln_entry_num_outputs(model, e); ++o)
      if (kiln_entry_output_info(model, e, o, &info) == KILN_OK)
        std::printf("  output %s: %s%s\n", info.name,
                    kiln_dtype_name(info.dtype), formatInfoShape(info).c_str());
  }
}

/// bf16 keeps the top half of an f32; round to nearest even.
uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

float bf16ToFloat(uint16_t value) {
  uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, 4);
  return result;
}

/// IEEE half from a float in the normal half range (random inputs only).
uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  int32_t exponent = static_cast<int32_t>((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent <= 0)
    return static_cast<uint16_t>(sign);
  if (exponent >= 31)
    return static_cast<uint16_t>(sign | 0x7c00u);
  uint32_t half =
      sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  // Round to nearest even on the dropped 13 bits.
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half;
  return static_cast<uint16_t>(half);
}

void fillRandom(NpyArray &array, std::mt19937_64 &rng, const Options &options) {
  int64_t count = array.numElements();
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int64_t> integer(options.intLow,
                                                 options.intHigh - 1);
  unsigned char *out = array.data.data();
  for (int64_t i = 0; i < count; ++i) {
    switch (array.dtype) {
    case KILN_DTYPE_F32: {
      float v = real(rng);
      std::memcpy(out + 4 * i, &v, 4);
      break;
    }
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16: {
      float v = real(rng);
      uint16_t h =
          array.dtype == KILN_DTYPE_F16 ? floatToHalf(v) : floatToBf16(v);
      std::memcpy(out + 2 * i, &h, 2);
      break;
    }
    case KILN_DTYPE_I8:
      out[i] = static_cast<unsigned char>(static_cast<int8_t>(integer(rng)));
      break;
    case KILN_DTYPE_U8:
      out[i] = static_cast<unsigned char>(integer(rng));
      break;
    case KILN_DTYPE_BOOL:
      out[i] = static_cast<unsigned char>(rng() & 1);
      break;
    case KILN_DTYPE_I32: {
      int32_t v = static_cast<int32_t>(integer(rng));
      std::memcpy(out + 4 * i, &v, 4);
      break;
    }
    case KILN_DTYPE_I64: {
      int64_t v = integer(rng);
      std::memcpy(out + 8 * i, &v, 8);
      break;
    }
    }
  }
}

/// Allocates `array` for `shape` and `dtype`; false if it is too large.
bool allocate(NpyArray &array, kiln_dtype dtype,
              const std::vector<int64_t> &shape) {
  array.dtype = dtype;
  array.shape = shape;
  uint64_t bytes = kiln_dtype_size(dtype);
  for (int64_t dim : shape) {
    if (dim != 0 && bytes > SIZE_MAX / static_cast<uint64_t>(dim))
      return false;
    bytes *= static_cast<uint64_t>(dim);
  }
  array.data.assign(static_cast<size_t>(bytes), 0);
  return true;
}

kiln_tensor asTensor(NpyArray &array) {
  kiln_tensor tensor;
  tensor.dtype = array.dtype;
  tensor.rank = static_cast<int32_t>(array.shape.size());
  tensor.shape = array.shape.data();
  tensor.strides = nullptr;
  tensor.data = array.data.data();
  return tensor;
}

/// Converts an f32 array read for a bf16 input: numpy has no bf16.
void convertToBf16(NpyArray &array) {
  int64_t count = array.numElements();
  std::vector<unsigned char> converted(static_cast<size_t>(count) * 2);
  for (int64_t i = 0; i < count; ++i) {
    float v;
    std::memcpy(&v, array.data.data() + 4 * i, 4);
    uint16_t h = floatToBf16(v);
    std::memcpy(converted.data() + 2 * i, &h, 2);
  }
  array.data = std::move(converted);
  array.dtype = KILN_DTYPE_BF16;
}

void convertFromBf16(NpyArray &array) {
  int64_t count = array.numElements();
  std::vector<unsigned char> converted(static_cast<size_t>(count) * 4);
  for (int64_t i = 0; i < count; ++i) {
    uint16_t h;
    std::memcpy(&h, array.data.data() + 2 * i, 2);
    float v = bf16ToFloat(h);
    std::memcpy(converted.data() + 4 * i, &v, 4);
  }
  array.data = std::move(converted);
  array.dtype = KILN_DTYPE_F32;
}

/// Reads or generates every input of `entry`. Returns -1 to go on,
/// otherwise the exit code.
int prepareInputs(kiln_model *model, int32_t entry, const Options &options,
                  std::vector<NpyArray> &arrays) {
  const char *entryName = kiln_model_entry_name(model, entry);
  int32_t numInputs = kiln_entry_num_inputs(model, entry);
  std::vector<kiln_tensor_info> infos(static_cast<size_t>(numInputs));
  std::string names;
  for (int32_t i = 0; i < numInputs; ++i) {
    if (kiln_entry_input_info(model, entry, i, &infos[i]) != KILN_OK)
      return runtimeError("cannot describe the inputs");
    names += (i ? ", '" : "'") + std::string(infos[i].name) + "'";
  }

  arrays.assign(static_cast<size_t>(numInputs), NpyArray());
  std::vector<bool> given(static_cast<size_t>(numInputs), false);
  for (const auto &input : options.inputs) {
    const std::string &name = input.first;
    const std::string &path = input.second;
    auto it = std::find_if(
        infos.begin(), infos.end(),
        [&](const kiln_tensor_info &info) { return name == info.name; });
    if (it == infos.end())
      return error("unknown input '" + name + "' for entry '" + entryName +
                   "' (inputs: " + names + ")");
    size_t index = static_cast<size_t>(it - infos.begin());
    if (given[index])
      return error("input '" + name + "' is given twice");
    given[index] = true;
    std::string message;
    if (!readNpy(path, arrays[index], message))
      return error(message);
    if (it->dtype == KILN_DTYPE_BF16 && arrays[index].dtype == KILN_DTYPE_F32)
      convertToBf16(arrays[index]);
    if (arrays[index].dtype != it->dtype)
      return error("input '" + name + "': '" + path + "' holds " +
                   kiln_dtype_name(arrays[index].dtype) +
                   " but the entry expects " + kiln_dtype_name(it->dtype));
  }

  std::string missing;
  for (int32_t i = 0; i < numInputs; ++i)
    if (!given[i])
      missing +=
          (missing.empty() ? "'" : ", '") + std::string(infos[i].name) + "'";
  if (missing.empty())
    return -1;
  if (!options.randomInputs)
    return error("missing input(s) " + missing + " for entry '" + entryName +
                 "' (give --input NAME=FILE.npy or --random-inputs)");

  // Dynamic dims come from --dim first, then from the files given.
  auto lookupDim = [&](const char *dimName, int64_t &size) {
    for (const auto &[name, value] : options.dims) {
      if (name == dimName) {
        size = value;
        return true;
      }
    }
    for (int32_t i = 0; i < numInputs; ++i) {
      if (!given[i])
        continue;
      for (int32_t d = 0; d < infos[i].rank; ++d) {
        if (infos[i].dims[d] < 0 && infos[i].dim_names[d] &&
            std::strcmp(infos[i].dim_names[d], dimName) == 0 &&
            static_cast<size_t>(d) < arrays[i].shape.size()) {
          size = arrays[i].shape[d];
          return true;
        }
      }
    }
    return false;
  };
  std::mt19937_64 rng(options.seed);
  for (int32_t i = 0; i < numInputs; ++i) {
    if (given[i])
      continue;
    const kiln_tensor_info &info = infos[i];
    std::vector<int64_t> shape(static_cast<size_t>(info.rank));
    for (int32_t d = 0; d < info.rank; ++d) {
      shape[d] = info.dims[d];
      if (shape[d] >= 0)
        continue;
      const char *dimName = info.dim_names[d] ? info.dim_names[d] : "?";
      if (!lookupDim(dimName, shape[d]))
        return error("input '" + std::string(info.name) + "' dim " +
                     std::to_string(d) + " is dynamic ('" + dimName +
                     "'): give --dim " + dimName + "=SIZE");
    }
    if (!allocate(arrays[i], info.dtype, shape))
      return error("input '" + std::string(info.name) + "' of shape " +
                   formatShape(shape) + " is too large");
    fillRandom(arrays[i], rng, options);
  }
  return -1;
}

/// Runs the entry (warmup + iterations) and prints latency statistics.
int runAndTime(kiln_context *context, int32_t entry,
               const std::vector<kiln_tensor> &inputs,
               const std::vector<kiln_tensor> &outputs,
               const Options &options) {
  auto runOnce = [&]() {
    return kiln_context_run(context, entry, inputs.data(),
                            static_cast<int32_t>(inputs.size()), outputs.data(),
                            static_cast<int32_t>(outputs.size()));
  };
  for (int64_t i = 0; i < options.warmup; ++i)
    if (runOnce() != KILN_OK)
      return runtimeError("run failed");
  int64_t timed = std::max<int64_t>(options.iterations, 1);
  std::vector<double> millis;
  millis.reserve(static_cast<size_t>(timed));
  for (int64_t i = 0; i < timed; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (runOnce() != KILN_OK)
      return runtimeError("run failed");
    auto stop = std::chrono::steady_clock::now();
    millis.push_back(
        std::chrono::duration<double, std::milli>(stop - start).count());
  }
  if (options.iterations == 0)
    return -1;
  std::sort(millis.begin(), millis.end());
  size_t n = millis.size();
  double median =
      n % 2 ? millis[n / 2] : 0.5 * (millis[n / 2 - 1] + millis[n / 2]);
  double mean = 0;
  for (double m : millis)
    mean += m;
  mean /= static_cast<double>(n);
  std::printf("latency over %zu iterations: min %.3f ms, median %.3f ms, "
              "mean %.3f ms\n",
              n, millis.front(), median, mean);
  return -1;
}

/// Index of the largest logit, the lowest on ties (as kiln_generator_greedy).
int64_t argmax(const std::vector<float> &logits) {
  int64_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best])
      best = static_cast<int64_t>(i);
  return best;
}

/// Greedy generation for --generate: the ids on stdout, timings on stderr.
int generate(kiln_model *model, const Options &options) {
  kiln_context_options contextOptions;
  contextOptions.num_threads = static_cast<int32_t>(options.threads);
  kiln_context *context = nullptr;
  if (kiln_context_create(model, &contextOptions, &context) != KILN_OK)
    return runtimeError("cannot create a context");
  struct Cleanup {
    kiln_context *context;
    kiln_generator *generator = nullptr;
    ~Cleanup() {
      kiln_generator_destroy(generator);
      kiln_context_destroy(context);
    }
  } cleanup{context};

  const std::vector<int64_t> &prompt = options.promptIds;
  int64_t len = static_cast<int64_t>(prompt.size());
  int64_t capacity =
      options.capacity >= 0 ? options.capacity : len + options.generate;
  if (kiln_generator_create(context, 1, capacity, &cleanup.generator) !=
      KILN_OK)
    return error(kiln_last_error());
  kiln_generator *generator = cleanup.generator;
  // The last token is never fed back, so len + N - 1 positions suffice.
  int64_t held = kiln_generator_capacity(generator);
  if (held >= 0 && options.generate - 1 > held - len)
    return error("a " + std::to_string(len) + "-token prompt and " +
                 std::to_string(options.generate) + " generated tokens need " +
                 std::to_string(len + options.generate - 1) +
                 " positions but --capacity is " + std::to_string(held));

  // Steps pick tokens one at a time (rather than kiln_generator_greedy) so
  // that each can be timed.
  using Clock = std::chrono::steady_clock;
  auto millisSince = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start)
        .count();
  };
  std::vector<float> logits(
      static_cast<size_t>(kiln_generator_vocab_size(generator)));
  std::vector<int64_t> generated;
  auto start = Clock::now();
  if (kiln_generator_prefill(generator, prompt.data(), len, logits.data()) !=
      KILN_OK)
    return runtimeError("prefill failed");
  double prefillMillis = millisSince(start);
  generated.push_back(argmax(logits));
  std::vector<double> stepMillis;
  while (static_cast<int64_t>(generated.size()) < options.generate) {
    start = Clock::now();
    if (kiln_generator_step(generator, &generated.back(), logits.data()) !=
        KILN_OK)
      return runtimeError("decode step " + std::to_string(generated.size()) +
                          " failed");
    stepMillis.push_back(millisSince(start));
    generated.push_back(argmax(logits));
  }

  std::string line;
  for (size_t i = 0; i < generated.size(); ++i)
    line += (i ? " " : "") + std::to_string(generated[i]);
  std::printf("%s\n", line.c_str());
  // Keeps the ids ahead of the summary when both streams share a terminal.
  std::fflush(stdout);
  std::fprintf(stderr, "kiln-run: prefill of %" PRId64 " tokens: %.3f ms\n",
               len, prefillMillis);
  if (!stepMillis.empty()) {
    double total = 0;
    for (double m : stepMillis)
      total += m;
    std::sort(stepMillis.begin(), stepMillis.end());
    size_t n = stepMillis.size();
    double median = n % 2 ? stepMillis[n / 2]
                          : 0.5 * (stepMillis[n / 2 - 1] + stepMillis[n / 2]);
    std::fprintf(stderr,
                 "kiln-run: decode of %zu tokens: median %.3f ms/token, "
                 "%.1f tokens/s\n",
                 n, median, total > 0 ? 1000.0 * n / total : 0.0);
  }
  return 0;
}

/// Output names may hold characters a file name cannot.
std::string fileNameFor(const char *outputName) {
  std::string name = outputName;
  for (char &c : name)
    if (c == '/' || c == '\\')
      c = '_';
  return name + ".npy";
}

/// The device model.json records ("cpu" when it says nothing, as models
/// from before --target did), or "" when there is no readable model.json.
std::string manifestDevice(const std::string &modelDir) {
  std::ifstream in(modelDir + "/model.json");
  if (!in)
    return "";
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return text.find("\"device\": \"cuda\"") != std::string::npos ? "cuda"
                                                                  : "cpu";
}

int deviceMismatch(const Options &options, const std::string &compiledFor) {
  if (compiledFor == "cuda")
    return error("model '" + options.modelDir +
                 "' was compiled for cuda (kiln-compile --target=cuda); run "
                 "it with --device=cuda");
  return error("model '" + options.modelDir +
               "' was compiled for the cpu; --device=" + options.device +
               " needs a model compiled with kiln-compile --target=" +
               options.device);
}

int runTool(const Options &options) {
  // Checked before opening: opening a cuda model needs the GPU driver.
  std::string compiledFor = manifestDevice(options.modelDir);
  if (!compiledFor.empty() && compiledFor != options.device)
    return deviceMismatch(options, compiledFor);
  kiln_model *model = nullptr;
  if (kiln_model_open(options.modelDir.c_str(), &model) != KILN_OK)
    return runtimeError("cannot open model");
  if (std::string opened = kiln_model_device(model); opened != options.device) {
    kiln_model_close(model);
    return deviceMismatch(options, opened);
  }
  struct ModelCloser {
    kiln_model *model;
    ~ModelCloser() { kiln_model_close(model); }
  } modelCloser{model};

  if (options.list) {
    printSignatures(model);
    return 0;
  }
  if (options.generate > 0)
    return generate(model, options);
  int32_t numEntries = kiln_model_num_entries(model);
  if (numEntries <= 0)
    return error("model '" + options.modelDir + "' has no entries");
  int32_t entry = 0;
  if (!options.entry.empty()) {
    if (kiln_model_find_entry(model, options.entry.c_str(), &entry) != KILN_OK)
      return error(kiln_last_error());
  } else if (kiln_model_find_entry(model, "forward", &entry) != KILN_OK) {
    entry = 0;
  }

  std::vector<NpyArray> inputArrays;
  if (int rc = prepareInputs(model, entry, options, inputArrays); rc >= 0)
    return rc;
  std::vector<kiln_tensor> inputs;
  for (NpyArray &array : inputArrays)
    inputs.push_back(asTensor(array));

  int32_t numOutputs = kiln_entry_num_outputs(model, entry);
  std::vector<NpyArray> outputArrays(static_cast<size_t>(numOutputs));
  std::vector<const char *> outputNames;
  for (int32_t o = 0; o < numOutputs; ++o) {
    kiln_tensor_info info;
    if (kiln_entry_output_info(model, entry, o, &info) != KILN_OK)
      return runtimeError("cannot describe the outputs");
    std::vector<int64_t> shape(static_cast<size_t>(info.rank));
    if (kiln_entry_output_shape(model, entry, inputs.data(),
                                static_cast<int32_t>(inputs.size()), o,
                                shape.data()) != KILN_OK)
      return error(kiln_last_error());
    if (!allocate(outputArrays[o], info.dtype, shape))
      return error("output '" + std::string(info.name) + "' of shape " +
                   formatShape(shape) + " is too large");
    outputNames.push_back(info.name);
  }
  std::vector<kiln_tensor> outputs;
  for (NpyArray &array : outputArrays)
    outputs.push_back(asTensor(array));

  kiln_context_options contextOptions;
  contextOptions.num_threads = static_cast<int32_t>(options.threads);
  kiln_context *context = nullptr;
  if (kiln_context_create(model, &contextOptions, &context) != KILN_OK)
    return runtimeError("cannot create a context");
  int rc = runAndTime(context, entry, inputs, outputs, options);
  kiln_context_destroy(context);
  if (rc >= 0)
    return rc;

  std::error_code ec;
  std::filesystem::create_directories(options.outputDir, ec);
  if (ec)
    return error("cannot create output directory '" + options.outputDir +
                 "': " + ec.message());
  for (int32_t o = 0; o < numOutputs; ++o) {
    NpyArray &array = outputArrays[o];
    if (array.dtype == KILN_DTYPE_BF16) {
      std::fprintf(stderr,
                   "kiln-run: note: output '%s' is bf16, which numpy lacks; "
                   "writing it as f32\n",
                   outputNames[o]);
      convertFromBf16(array);
    }
    std::string path = options.outputDir + "/" + fileNameFor(outputNames[o]);
    std::string message;
    if (!writeNpy(path, array, message))
      return error(message);
    std::printf("wrote %s: %s%s\n", path.c_str(), kiln_dtype_name(array.dtype),
                formatShape(array.shape).c_str());
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  Options options;
  if (int rc = parseArgs(argc, argv, options); rc >= 0)
    return rc;
  return runTool(options);
}
