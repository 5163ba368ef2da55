//===- kiln-compile.cpp - Ahead-of-time compiler for kiln models ----------===//
//
// Part of Kiln. A kiln module plus its weights in; a model directory out:
// model.so (C ABI, kiln_model_abi.h), model.h, model.weights.safetensors
// (the weights where the code reads them) and model.json (the manifest).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/SparseWeights.h"
#include "kiln/InitAll.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/HuggingFace/HuggingFace.h"
#include "kiln/Target/ModelLibrary/ModelLibrary.h"
#include "kiln/Target/ModelLibrary/QuantizeWeights.h"
#include "kiln/Target/Safetensors/Checkpoint.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <cstdio>
#include <cstring>

using namespace mlir;
using namespace mlir::kiln;
namespace st = ::kiln::safetensors;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("kiln-compile options");

cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<model.mlir | Hugging Face folder>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> outputDir("o",
                               cl::desc("Output directory (required unless "
                                        "--emit is given)"),
                               cl::value_desc("dir"), cl::cat(category));
cl::opt<std::string>
    weightsFile("weights",
                cl::desc("Weights of a .mlir model's kiln.param ops: a "
                         ".safetensors file, a sharding index "
                         "(*.safetensors.index.json) or a folder holding "
                         "either"),
                cl::value_desc("file.safetensors"), cl::cat(category));
cl::opt<std::string> cpu("cpu",
                         cl::desc("Target CPU: host (default), generic (a "
                                  "portable x86-64 baseline) or an LLVM CPU "
                                  "name such as sapphirerapids"),
                         cl::init("host"), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                           cl::init(3), cl::Prefix, cl::cat(category));
cl::opt<std::string> emit("emit",
                          cl::desc("Print the IR after a stage and stop: "
                                   "kiln, linalg, llvm"),
                          cl::value_desc("stage"), cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("No progress output"), cl::cat(category));
cl::opt<bool> singleThreaded(
    "single-threaded",
    cl::desc("Generate single-threaded code (model.so needs no libomp)"),
    cl::cat(category));
cl::opt<bool> noFlashAttention(
    "no-flash-attention",
    cl::desc("Lower attention with the reference kernel (score matrix in "
             "memory) instead of the fused online-softmax one"),
    cl::cat(category));
cl::opt<bool>
    noFuseQkv("no-fuse-qkv",
              cl::desc("Run projections of one input (attention's Q, K, V) as "
                       "separate matmuls instead of one (kiln-fuse-qkv)"),
              cl::cat(category));
cl::opt<bool> noFuseGatedFfn(
    "no-fuse-gated-ffn",
    cl::desc("Run a gated FFN's gate and up projections as separate "
             "matmuls instead of one (kiln-fuse-gated-ffn)"),
    cl::cat(category));
cl::opt<bool> fuseEpilogue(
    "fuse-epilogue",
    cl::desc("Add residual connections inside the projections' matmuls "
             "(kiln-fuse-epilogue); off by default, because compile time "
             "then grows with depth squared (one-shot bufferization)"),
    cl::cat(category));
cl::opt<int64_t> weightColumnBlocks(
    "weight-column-blocks",
    cl::desc("Split each weight matmul into this many column blocks as well "
             "as row blocks, so that one token (decode) runs on every core; "
             "0 splits rows only"),
    cl::init(8), cl::cat(category));
cl::opt<bool> removePadding(
    "remove-padding",
    cl::desc("Run every entry with an attention_mask on its real tokens "
             "only (kiln-remove-padding); by default only encoders are"),
    cl::cat(category));
cl::opt<bool> noRemovePadding(
    "no-remove-padding",
    cl::desc("Keep the padding in every entry, encoders included"),
    cl::cat(category));
cl::opt<std::string> quantize(
    "quantize",
    cl::desc("Weight-only quantization of linear/FFN weights: int8 (per "
             "output channel), int4 (groups of 128), with optional "
             ":g<group> and :asym, e.g. int4:g64:asym"),
    cl::value_desc("scheme"), cl::cat(category));
cl::list<std::string> quantizeSkip(
    "quantize-skip",
    cl::desc("Weight name globs kept in f32 with --quantize (default: "
             "*embed*,*lm_head*,*wte*)"),
    cl::CommaSeparated, cl::value_desc("glob,..."), cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("Where the model runs: cpu (default) or "
                                     "cuda (NVIDIA GPUs, through NVPTX)"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<std::string> cudaArch("cuda-arch",
                              cl::desc("With --target=cuda: the GPU "
                                       "architecture, sm_80 (default) or "
                                       "sm_90"),
                              cl::init("sm_80"), cl::cat(category));
cl::opt<std::string>
    ptxas("ptxas",
          cl::desc("With --target=cuda: the ptxas to build cubins with (its "
                   "folder must hold fatbinary too); default: "
                   "/usr/local/cuda/bin, then PATH. Without one, model.so "
                   "embeds PTX only, which the driver compiles at load"),
          cl::cat(category));
cl::opt<std::string>
    libdevice("libdevice",
              cl::desc("With --target=cuda: libdevice.10.bc for math "
                       "functions; default: the CUDA toolkit's"),
              cl::cat(category));
cl::opt<std::string> sparsify(
    "sparsify",
    cl::desc("Sparse kernels for projections whose weights have zeros "
             "(kiln-sparsify): off (default), auto (where the cost model "
             "predicts a gain), 2:4 or block"),
    cl::init("off"), cl::cat(category));
cl::opt<std::string> sparseBlock(
    "sparse-block",
    cl::desc("Block shape RxC for --sparsify=block/auto (default: 16x16 for "
             "block; 16x16, 4x4 and 1x16 for auto)"),
    cl::cat(category));
cl::opt<std::string> linker("linker",
                            cl::desc("C compiler driver used to link model.so "
                                     "(default: clang-22, clang, cc)"),
                            cl::cat(category));

/// Prints "[kiln-compile] stage ... 0.12 s" lines to stderr.
class Progress {
public:
  void begin(StringRef stage) {
    start = std::chrono::steady_clock::now();
    if (!quiet)
      llvm::errs() << "[kiln-compile] " << stage << " ...";
    lineOpen = !quiet;
  }
  /// Ends an unfinished progress line so that a diagnostic starts on its
  /// own line.
  void interrupt() {
    if (lineOpen)
      llvm::errs() << "\n";
    lineOpen = false;
  }
  void end() {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    total += seconds;
    if (lineOpen)
      llvm::errs() << llvm::format(" %.2f s\n", seconds);
    lineOpen = false;
  }
  void fail() {
    if (lineOpen)
      llvm::errs() << " failed\n";
    lineOpen = false;
  }
  double totalSeconds() const { return total; }

private:
  std::chrono::steady_clock::time_point start;
  double total = 0;
  bool lineOpen = false;
};

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kiln-compile") << message << "\n";
  return 1;
}

int fail(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  return fail(message);
}

/// Writes `text` to `path` atomically enough for our purposes.
llvm::Error writeText(StringRef path, StringRef text) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(ec, "cannot write '" + path.str() +
                                           "': " + ec.message());
  out.os() << text;
  out.keep();
  return llvm::Error::success();
}

/// `name` in the directory holding libkiln_model_support.a: <bindir>/../lib.
std::string findSupportLibrary(const char *argv0,
                               StringRef name = "libkiln_model_support.a") {
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&findSupportLibrary));
  SmallString<256> path(llvm::sys::path::parent_path(exe));
  llvm::sys::path::append(path, "..", "lib", name);
  return std::string(path);
}

/// "F32 [768, 64]".
std::string describeTensor(StringRef dtype, ArrayRef<int64_t> shape) {
  std::string text = dtype.str() + " [";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d);
  return text + "]";
}

/// The F32 values of an F32, F16 or BF16 tensor (half-precision
/// checkpoints are widened exactly at compile time; the generated code
/// computes in F32) and a byte view of them.
struct WidenedTensor {
  std::vector<float> values;
  ArrayRef<uint8_t> bytes() const {
    return ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                             values.size() * sizeof(float));
  }
};

WidenedTensor widenToF32(const st::TensorInfo &tensor) {
  return WidenedTensor{st::readAsF32(tensor).value_or(std::vector<float>())};
}

/// Element (r, c) of a row-major [rows, cols] matrix of `elementBytes`
/// elements, moved to [ceil(cols / panel), r, c % panel]; a partial last
/// panel is padded with zero bytes.
std::vector<uint8_t> cutPanels(ArrayRef<uint8_t> bytes, int64_t rows,
                               int64_t cols, int64_t panel,
                               uint64_t elementBytes) {
  std::vector<uint8_t> panels(llvm::divideCeilSigned(cols, panel) * rows *
                              panel * elementBytes);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(&panels[(((c / panel) * rows + r) * panel + c % panel) *
                          elementBytes],
                  &bytes[(r * cols + c) * elementBytes], elementBytes);
  return panels;
}

/// Columns of the [rows, cols] matrix that `weight`, cut into [count,
/// rows, panel] panels, holds: `columns` when its last panel is partial,
/// else count * panel.
int64_t panelColumns(const PlannedWeight &weight) {
  return weight.columns ? weight.columns : weight.shape[0] * weight.shape[2];
}

/// Adds the part of a quantized weight (kiln-quantize) that `weight` plans
/// to the writer: the checkpoint's 2-D tensor, read as [K, N], quantized as
/// the plan says.
llvm::Error addQuantizedWeight(const PlannedWeight &weight,
                               const st::TensorInfo &tensor, StringRef file,
                               st::SafetensorsWriter &writer) {
  bool values = weight.quantPart == "values";
  // The stored [rows, n] tensor, before panels.
  int64_t rows = weight.panels ? weight.shape[1] : weight.shape[0];
  int64_t n = weight.panels ? panelColumns(weight) : weight.shape[1];
  int64_t k = values ? rows * (weight.quantBits == 4 ? 2 : 1)
                     : rows * weight.quantGroup;
  SmallVector<int64_t> expected = {k, n};
  if (weight.transposed)
    std::swap(expected[0], expected[1]);
  if (!st::isWidenableToF32(tensor.dtype) ||
      ArrayRef<int64_t>(tensor.shape) != ArrayRef<int64_t>(expected))
    return llvm::createStringError(
        "weight '" + weight.source + "': quantizing it needs " +
        describeTensor("F32", expected) + " (or F16/BF16) but " + file.str() +
        " has " + describeTensor(st::dtypeName(tensor.dtype), tensor.shape));
  WidenedTensor widened;
  ArrayRef<uint8_t> bytes = tensor.bytes;
  if (tensor.dtype != st::DType::F32) {
    widened = widenToF32(tensor);
    bytes = widened.bytes();
  }
  std::vector<float> matrix(k * n);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c)
      std::memcpy(&matrix[r * n + c],
                  &bytes[(weight.transposed ? c * k + r : r * n + c) *
                         sizeof(float)],
                  sizeof(float));
  QuantizedWeight quantized =
      quantizeWeight(matrix, k, n, weight.quantBits, weight.quantGroup,
                     weight.quantSymmetric);
  ArrayRef<uint8_t> part;
  if (values)
    part = ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(quantized.values.data()),
        quantized.values.size());
  else {
    const std::vector<float> &floats = weight.quantPart == "scales"
                                           ? quantized.scales
                                           : quantized.zeroPoints;
    part = ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(floats.data()),
                             floats.size() * sizeof(float));
  }
  st::DType dtype = values ? st::DType::I8 : st::DType::F32;
  if (!weight.panels)
    return writer.addTensor(weight.name, dtype, weight.shape, part);
  return writer.addTensor(weight.name, dtype, weight.shape,
                          cutPanels(part, rows, n, weight.panels,
                                    st::dtypeSize(dtype)));
}

/// Parses --quantize (int8, int4, then :g<group> and :sym/:asym) into
/// `options`.
llvm::Error parseQuantize(StringRef spec, CpuPipelineOptions &options) {
  SmallVector<StringRef> fields;
  spec.split(fields, ':');
  if (fields[0] != "int8" && fields[0] != "int4")
    return llvm::createStringError(
        "--quantize: unknown scheme '" + fields[0].str() +
        "' (supported: int8, int4; e.g. int8, int4:g128, int4:g32:asym)");
  options.quantize = fields[0].str();
  for (StringRef field : ArrayRef<StringRef>(fields).drop_front()) {
    int64_t group = 0;
    StringRef digits = field;
    if (field == "sym") {
      options.quantizeSymmetric = true;
    } else if (field == "asym") {
      options.quantizeSymmetric = false;
    } else if (digits.consume_front("g") && !digits.getAsInteger(10, group) &&
               group > 0) {
      if (fields[0] == "int4" && group % 2 != 0)
        return llvm::createStringError(
            "--quantize: int4 packs two values per byte, so its group must "
            "be even, got " +
            std::to_string(group));
      options.quantizeGroup = group;
    } else {
      return llvm::createStringError(
          "--quantize: bad field '" + field.str() + "' in '" + spec.str() +
          "' (expected g<positive group>, sym or asym)");
    }
  }
  return llvm::Error::success();
}

/// The checkpoint tensor that `weight` reads: `weight.source` itself, or,
/// for a stacked param, `source` with the rows of each `concat` tensor
/// appended, built in `stacked` (whose bytes live in `storage`).
llvm::Expected<const st::TensorInfo *>
lookupSource(const PlannedWeight &weight, const st::Checkpoint &checkpoint,
             st::TensorInfo &stacked, std::vector<uint8_t> &storage) {
  auto lookup = [&](StringRef name) -> llvm::Expected<const st::TensorInfo *> {
    if (const st::TensorInfo *tensor = checkpoint.lookup(name))
      return tensor;
    return llvm::createStringError("weight '" + name.str() + "' is not in " +
                                   checkpoint.getPath().str());
  };
  llvm::Expected<const st::TensorInfo *> first = lookup(weight.source);
  if (!first || weight.concat.empty())
    return first;
  stacked = **first;
  storage.assign((*first)->bytes.begin(), (*first)->bytes.end());
  for (const std::string &name : weight.concat) {
    llvm::Expected<const st::TensorInfo *> part = lookup(name);
    if (!part)
      return part.takeError();
    const st::TensorInfo &tensor = **part;
    if (tensor.dtype != stacked.dtype || tensor.shape.empty() ||
        ArrayRef<int64_t>(tensor.shape).drop_front() !=
            ArrayRef<int64_t>(stacked.shape).drop_front())
      return llvm::createStringError(
          "weight '" + name + "' cannot be stacked under '" + weight.source +
          "': " + checkpoint.fileOf(name).str() + " has " +
          describeTensor(st::dtypeName(tensor.dtype), tensor.shape) +
          ", the stack so far is " +
          describeTensor(st::dtypeName(stacked.dtype), stacked.shape));
    storage.insert(storage.end(), tensor.bytes.begin(), tensor.bytes.end());
    stacked.shape[0] += tensor.shape[0];
    stacked.numElements += tensor.numElements;
  }
  stacked.name = weight.name;
  stacked.byteSize = storage.size();
  stacked.bytes = storage;
  return &stacked;
}

/// Checks every planned weight against the checkpoint and adds it to the
/// writer: by reference when stored as is (the checkpoint stays mapped
/// until the write), as a transposed and/or panel-cut copy otherwise.
llvm::Error collectWeights(ArrayRef<PlannedWeight> plan,
                           const st::Checkpoint *source,
                           st::SafetensorsWriter &writer) {
  if (!plan.empty() && !source)
    return llvm::createStringError("the model reads " +
                                   std::to_string(plan.size()) +
                                   " weights (first: '" + plan.front().source +
                                   "') but no --weights file was given");
  for (const PlannedWeight &weight : plan) {
    st::TensorInfo stackedTensor;
    std::vector<uint8_t> stackedBytes;
    llvm::Expected<const st::TensorInfo *> found =
        lookupSource(weight, *source, stackedTensor, stackedBytes);
    if (!found)
      return found.takeError();
    const st::TensorInfo *tensor = *found;
    bool stacked = !weight.concat.empty();
    StringRef file = source->fileOf(weight.source);
    if (weight.quantBits) {
      if (llvm::Error error = addQuantizedWeight(weight, *tensor, file, writer))
        return error;
      continue;
    }
    if (!weight.encoding.empty()) {
      // One part of a sparse form, computed from the checkpoint's values.
      std::optional<::kiln::sparse::Encoding> encoding =
          ::kiln::sparse::Encoding::parse(weight.encoding);
      if (!encoding)
        return llvm::createStringError("weight '" + weight.source +
                                       "': unknown encoding '" +
                                       weight.encoding + "'");
      auto values = ::kiln::sparse::readMatrixAsF32(*tensor);
      if (!values)
        return values.takeError();
      ::kiln::sparse::Matrix matrix{*values, tensor->shape[0],
                                    tensor->shape[1]};
      auto encoded = ::kiln::sparse::encode(matrix, *encoding);
      if (!encoded)
        return llvm::createStringError(
            "weight '" + weight.source + "' in " + file.str() + " " +
            llvm::toString(encoded.takeError()));
      if (encoded->dtype != getDTypeName(weight.dtype) ||
          ArrayRef<int64_t>(encoded->shape) != ArrayRef<int64_t>(weight.shape))
        return llvm::createStringError(
            "weight '" + weight.source + "': the model expects " +
            describeTensor(getDTypeName(weight.dtype), weight.shape) +
            " for " + weight.encoding + " but " + file.str() + " gives " +
            describeTensor(encoded->dtype, encoded->shape) +
            " (did the weights change since kiln-sparsify read them?)");
      if (llvm::Error error =
              writer.addTensor(weight.name, *st::parseDType(encoded->dtype),
                               encoded->shape, encoded->bytes))
        return error;
      continue;
    }
    // The checkpoint's [rows, cols] tensor, as the plan reads it.
    SmallVector<int64_t> expected(weight.shape);
    if (weight.panels)
      expected = {weight.shape[1], panelColumns(weight)};
    if (weight.transposed)
      std::swap(expected[0], expected[1]);
    StringRef wantType = getDTypeName(weight.dtype);
    bool widen = wantType == "F32" && (tensor->dtype == st::DType::F16 ||
                                       tensor->dtype == st::DType::BF16);
    if ((st::dtypeName(tensor->dtype) != wantType && !widen) ||
        ArrayRef<int64_t>(tensor->shape) != ArrayRef<int64_t>(expected))
      return llvm::createStringError(
          "weight '" + weight.source + "': the model expects " +
          describeTensor(wantType, expected) + " but " + file.str() +
          " has " +
          describeTensor(st::dtypeName(tensor->dtype), tensor->shape));
    WidenedTensor widened;
    ArrayRef<uint8_t> bytes = tensor->bytes;
    st::DType dtype = tensor->dtype;
    if (widen) {
      widened = widenToF32(*tensor);
      bytes = widened.bytes();
      dtype = st::DType::F32;
    }
    if (!weight.transposed && !weight.panels) {
      // A stack's bytes live in this iteration only: copy them.
      llvm::Error error =
          widen || stacked
              ? writer.addTensor(weight.name, dtype, tensor->shape, bytes)
              : writer.addTensorRef(weight.name, dtype, tensor->shape, bytes);
      if (error)
        return error;
      continue;
    }
    // Element (r, c) of the (transposed) [rows, cols] view goes to
    // [c / panel, r, c % panel]; without panels, panel = cols. A partial
    // last panel stays zero past the last column.
    int64_t rows = weight.transposed ? expected[1] : expected[0];
    int64_t cols = weight.transposed ? expected[0] : expected[1];
    int64_t panel = weight.panels ? weight.panels : cols;
    uint64_t elementBytes = st::dtypeSize(dtype);
    std::vector<uint8_t> rearranged(llvm::divideCeilSigned(cols, panel) * rows *
                                    panel * elementBytes);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        int64_t from = weight.transposed ? c * rows + r : r * cols + c;
        int64_t to = ((c / panel) * rows + r) * panel + c % panel;
        std::memcpy(&rearranged[to * elementBytes],
                    &bytes[from * elementBytes], elementBytes);
      }
    if (llvm::Error error = writer.addTensor(weight.name, dtype,
                                             weight.shape, rearranged))
      return error;
  }
  const st::SafetensorsLayout &layout = writer.getLayout();
  for (auto [weight, offset] : llvm::zip(plan, layout.tensorOffsets))
    if (weight.offset != offset)
      return llvm::createStringError(
          "internal error: weight '" + weight.name + "' planned at offset " +
          std::to_string(weight.offset) + " but written at " +
          std::to_string(offset));
  return llvm::Error::success();
}

/// Links `object` into `library` with the system C compiler driver. A cuda
/// model also links libkiln_runtime.so (`runtimeLibrary`), which implements
/// the mgpu* functions its kernel launches call; at run time the loader
/// reuses the runtime that opens the model.
llvm::Error linkSharedLibrary(StringRef object, StringRef library,
                              StringRef supportLibrary,
                              StringRef runtimeLibrary = "") {
  std::string driver = linker;
  if (driver.empty()) {
    for (StringRef candidate : {"clang-22", "clang", "cc"}) {
      if (llvm::ErrorOr<std::string> found =
              llvm::sys::findProgramByName(candidate)) {
        driver = *found;
        break;
      }
    }
  } else if (llvm::ErrorOr<std::string> found =
                 llvm::sys::findProgramByName(driver)) {
    driver = *found;
  }
  if (driver.empty())
    return llvm::createStringError(
        "no C compiler driver to link model.so (looked for clang-22, clang, "
        "cc; set one with --linker)");
  if (!llvm::sys::fs::exists(supportLibrary))
    return llvm::createStringError("support library not found at " +
                                   supportLibrary.str());
  SmallVector<StringRef> args = {driver, "-shared",      "-o", library,
                                 object, supportLibrary, "-lm"};
  // OpenMP comes from Debian's libomp-22-dev; the rpath lets model.so find
  // it without LD_LIBRARY_PATH.
  std::string ompDir = "/usr/lib/llvm-22/lib";
  std::string ompSearch = "-L" + ompDir, ompRpath = "-Wl,-rpath," + ompDir;
  std::string runtimeSearch =
      "-L" + llvm::sys::path::parent_path(runtimeLibrary).str();
  if (!runtimeLibrary.empty()) {
    if (!llvm::sys::fs::exists(runtimeLibrary))
      return llvm::createStringError("runtime library not found at " +
                                     runtimeLibrary.str());
    args.append({runtimeSearch, "-lkiln_runtime"});
  } else if (!singleThreaded) {
    args.append({ompSearch, ompRpath, "-lomp"});
  }
  args.append({"-Wl,-z,defs", "-Wl,--gc-sections", "-Wl,-O1"});
  std::string errorMessage;
  int rc = llvm::sys::ExecuteAndWait(driver, args, std::nullopt, {}, 0, 0,
                                     &errorMessage);
  if (rc != 0)
    return llvm::createStringError(
        "linking " + library.str() + " with " + driver + " failed" +
        (errorMessage.empty() ? "" : ": " + errorMessage));
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kiln-compile: compile a model ahead of time into a model "
      "directory\n\n  kiln-compile HF_FOLDER -o out/\n  kiln-compile "
      "model.mlir --weights model.safetensors -o out/\n");
  if (!emit.empty() && emit != "kiln" && emit != "linalg" && emit != "llvm")
    return fail("--emit must be kiln, linalg or llvm, got '" + emit + "'");
  if (optLevel > 3)
    return fail("-O must be 0 to 3");
  if (removePadding && noRemovePadding)
    return fail("--remove-padding and --no-remove-padding contradict each "
                "other");
  bool cuda = target == "cuda";
  if (target != "cpu" && !cuda)
    return fail("--target must be cpu or cuda, got '" + target + "'");
  if (cuda && cudaArch != "sm_80" && cudaArch != "sm_90")
    return fail("--cuda-arch must be sm_80 or sm_90, got '" + cudaArch + "'");
  if (cuda && !quantize.empty())
    return fail("--quantize is not supported with --target=cuda yet");
  if (cuda && removePadding)
    return fail("--remove-padding is not supported with --target=cuda yet "
                "(packing reads the attention mask on the host)");
  if (!cuda && (cudaArch.getNumOccurrences() || ptxas.getNumOccurrences() ||
                libdevice.getNumOccurrences()))
    return fail("--cuda-arch, --ptxas and --libdevice need --target=cuda");
  if (!ptxas.empty() && !llvm::sys::fs::can_execute(ptxas))
    return fail("--ptxas: '" + ptxas + "' is not an executable");
  if (!libdevice.empty() && !llvm::sys::fs::exists(libdevice))
    return fail("--libdevice: '" + libdevice + "' does not exist");
  if (sparsify != "off" && sparsify != "auto" && sparsify != "2:4" &&
      sparsify != "block")
    return fail("--sparsify must be auto, 2:4, block or off, got '" +
                sparsify + "'");
  if (emit.empty() && outputDir.empty())
    return fail("no output directory: give -o DIR (or --emit=STAGE to print "
                "IR)");

  std::vector<std::string> flags;
  for (int i = 1; i < argc; ++i)
    flags.push_back(argv[i]);

  DialectRegistry registry;
  ::kiln::registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Users get the located message; the op dump is for compiler developers
  // (kiln-opt).
  context.printOpOnDiagnostic(false);
  Progress progress;

  bool huggingFace = isHuggingFaceModelDir(inputFile);
  if (huggingFace && !weightsFile.empty())
    return fail("--weights is for .mlir input; " + inputFile +
                " is a Hugging Face folder and brings its own checkpoint");
  if (!huggingFace && llvm::sys::fs::is_directory(inputFile))
    return fail(inputFile + " is a directory without config.json; give a "
                            "Hugging Face model folder or a .mlir file");

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  // Runs before the handler above (the newest handler runs first).
  ScopedDiagnosticHandler newline(&context, [&](Diagnostic &) {
    progress.interrupt();
    return failure();
  });

  // The checkpoint: the folder's own, or --weights.
  std::unique_ptr<st::Checkpoint> source;
  std::string weightsPath = huggingFace ? inputFile : weightsFile;
  if (!weightsPath.empty()) {
    progress.begin("open weights " + weightsPath);
    auto opened = st::Checkpoint::open(weightsPath);
    if (!opened) {
      progress.fail();
      return fail(opened.takeError());
    }
    source = std::move(*opened);
    progress.end();
  }

  OwningOpRef<ModuleOp> module;
  ModelSource modelSource{huggingFace ? "huggingface" : "mlir", inputFile, ""};
  if (huggingFace) {
    progress.begin("import " + inputFile);
    auto imported = importHuggingFaceModel(inputFile, *source, &context);
    if (!imported) {
      progress.fail();
      return fail(imported.takeError());
    }
    module = std::move(*imported);
    if (auto modelType =
            (*module)->getAttrOfType<StringAttr>("kiln.model_type"))
      modelSource.modelType = modelType.str();
  } else {
    progress.begin("parse " + inputFile);
    module = parseSourceFile<ModuleOp>(inputFile, sourceMgr, &context);
    if (!module) {
      progress.fail();
      return 1;
    }
  }
  progress.end();
  if (emit == "kiln") {
    module->print(llvm::outs());
    return 0;
  }
  FailureOr<std::vector<EntrySignature>> entries =
      collectEntrySignatures(*module);
  if (failed(entries))
    return 1;

  CpuPipelineOptions options;
  options.parallel = !singleThreaded;
  options.flashAttention = !noFlashAttention;
  options.fuseQkv = !noFuseQkv;
  options.fuseGatedFfn = !noFuseGatedFfn;
  options.fuseEpilogue = fuseEpilogue;
  options.weightColumnBlocks = weightColumnBlocks;
  options.sparsify = sparsify;
  options.sparseBlock = sparseBlock;
  options.weights = weightsPath;
  if (removePadding)
    options.removePadding = RemovePaddingMode::all;
  else if (noRemovePadding)
    options.removePadding = RemovePaddingMode::off;
  else
    options.removePadding = RemovePaddingMode::encoders;
  if (!quantize.empty()) {
    if (llvm::Error error = parseQuantize(quantize, options))
      return fail(std::move(error));
    std::vector<std::string> skip(quantizeSkip.begin(), quantizeSkip.end());
    if (skip.empty())
      skip = {"*embed*", "*lm_head*", "*wte*"};
    for (const std::string &pattern : skip)
      options.quantizeSkip.push_back(pattern);
  } else if (!quantizeSkip.empty()) {
    return fail("--quantize-skip needs --quantize");
  }
  GpuPipelineOptions gpuOptions;
  gpuOptions.cudaArch = cudaArch;
  gpuOptions.ptxas = ptxas;
  gpuOptions.libdevice = libdevice;
  ModelTarget modelTarget;
  if (cuda) {
    modelTarget.device = "cuda";
    modelTarget.arch = cudaArch;
    modelTarget.binary =
        findCudaToolkitBin(gpuOptions).empty() ? "isa" : "fatbin";
  } else {
    modelTarget.arch = cpu;
  }
  auto runStage = [&](StringRef name,
                      function_ref<void(OpPassManager &)> build) {
    progress.begin(name);
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    build(pm);
    if (failed(pm.run(*module))) {
      progress.fail();
      return failure();
    }
    progress.end();
    return success();
  };

  if (failed(runStage("lower kiln to linalg", [&](OpPassManager &pm) {
        if (cuda)
          buildGpuLoweringStage(pm, gpuOptions);
        else
          buildCpuLoweringStage(pm, options);
      })))
    return 1;
  if (emit == "linalg") {
    module->print(llvm::outs());
    return 0;
  }
  FailureOr<std::vector<PlannedWeight>> plan = readWeightsPlan(*module);
  if (failed(plan))
    return 1;
  st::SafetensorsWriter writer;
  if (llvm::Error error = collectWeights(*plan, source.get(), writer))
    return fail(std::move(error));

  if (failed(runStage("bufferize",
                      [&](OpPassManager &pm) {
                        buildCpuBufferizationStage(pm, options);
                      })) ||
      failed(runStage(cuda ? "map to GPU kernels, emit " + cudaArch + " " +
                                 modelTarget.binary + ", lower host to LLVM"
                           : "lower to LLVM dialect",
                      [&](OpPassManager &pm) {
                        if (cuda)
                          buildGpuToLLVMStage(pm, gpuOptions);
                        else
                          buildCpuToLLVMStage(pm, options);
                      })))
    return 1;
  if (emit == "llvm") {
    module->print(llvm::outs());
    return 0;
  }

  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return fail("cannot create '" + outputDir + "': " + ec.message());
  auto outPath = [&](StringRef name) {
    SmallString<256> path(outputDir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  };

  progress.begin("write model.weights.safetensors");
  if (llvm::Error error = writer.setMetadata("format", "kiln-weights"))
    return fail(std::move(error));
  if (llvm::Error error = writer.setMetadata("kiln_version", getKilnVersion()))
    return fail(std::move(error));
  // Checked on request by the runtime (KILN_VERIFY_WEIGHTS=1): catches
  // tensor bytes edited in place, which the header hash cannot see.
  char checksum[32];
  snprintf(checksum, sizeof(checksum), "%016llx",
           static_cast<unsigned long long>(writer.dataChecksum()));
  if (llvm::Error error = writer.setMetadata(
          ::kiln::safetensors::kDataChecksumKey,
          (::kiln::safetensors::kDataChecksumPrefix + checksum).str()))
    return fail(std::move(error));
  WeightsFileInfo weightsInfo;
  weightsInfo.fileName = "model.weights.safetensors";
  weightsInfo.fileSize = writer.fileSize();
  weightsInfo.headerHash = writer.headerHash();
  weightsInfo.dataSize =
      writer.fileSize() - writer.getLayout().dataSectionOffset;
  if (auto layers = (*module)->getAttrOfType<ArrayAttr>("kiln.sparsity"))
    for (auto layer : layers.getAsRange<DictionaryAttr>())
      weightsInfo.sparseLayers.push_back(
          {layer.getAs<StringAttr>("weight").str(),
           layer.getAs<StringAttr>("form").str(),
           layer.getAs<FloatAttr>("density").getValueAsDouble(),
           layer.getAs<FloatAttr>("block_density").getValueAsDouble()});
  if (llvm::Error error = writer.write(outPath(weightsInfo.fileName)))
    return fail(std::move(error));
  progress.end();

  // The entry's kiln.name/kiln.dims annotations are already in the
  // signatures; LLVM IR has no place for them.
  module->walk([](LLVM::LLVMFuncOp llvmFunc) {
    auto func = cast<FunctionOpInterface>(llvmFunc.getOperation());
    auto strip = [](ArrayRef<NamedAttribute> attrs) {
      SmallVector<StringAttr> names;
      for (NamedAttribute attr : attrs)
        if (attr.getName().getValue().starts_with("kiln."))
          names.push_back(attr.getName());
      return names;
    };
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      for (StringAttr name : strip(func.getArgAttrs(i)))
        func.removeArgAttr(i, name);
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      for (StringAttr name : strip(func.getResultAttrs(i)))
        func.removeResultAttr(i, name);
  });

  progress.begin("translate to LLVM IR");
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, "model");
  if (!llvmModule) {
    progress.fail();
    return fail("translation to LLVM IR failed");
  }
  if (llvm::Error error =
          emitModelInterface(*llvmModule, *entries, *plan, weightsInfo,
                             cuda ? KILN_ABI_DEVICE_CUDA
                                  : KILN_ABI_DEVICE_CPU))
    return fail(std::move(error));
  progress.end();

  progress.begin("optimize and emit object (-O" + std::to_string(optLevel) +
                 ", cpu " + cpu + ")");
  std::string object = outPath("model.o");
  if (llvm::Error error = emitObjectFile(*llvmModule, object, cpu, optLevel)) {
    progress.fail();
    return fail(std::move(error));
  }
  progress.end();

  progress.begin("link model.so");
  if (llvm::Error error = linkSharedLibrary(
          object, outPath("model.so"),
          findSupportLibrary(argv[0], cuda ? "libkiln_model_support_cuda.a"
                                           : "libkiln_model_support.a"),
          cuda ? findSupportLibrary(argv[0], "libkiln_runtime.so") : "")) {
    progress.fail();
    return fail(std::move(error));
  }
  llvm::sys::fs::remove(object);
  progress.end();

  if (llvm::Error error = writeText(outPath("model.h"), renderHeader(*entries)))
    return fail(std::move(error));
  if (llvm::Error error =
          writeText(outPath("model.json"),
                    renderManifest(*entries, *plan, weightsInfo, flags,
                                   modelSource, modelTarget)))
    return fail(std::move(error));
  if (!quiet)
    llvm::errs() << llvm::format("[kiln-compile] wrote %s in %.2f s\n",
                                 outputDir.c_str(), progress.totalSeconds());
  return 0;
}
