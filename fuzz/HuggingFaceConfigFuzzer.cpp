//===- HuggingFaceConfigFuzzer.cpp - libFuzzer target for config.json -----===//
//
// Feeds arbitrary text as config.json to the Hugging Face importer, against
// a checkpoint holding tiny bert, gpt2, llama and mamba weights
// (fuzz/Inputs/hf-tiny.safetensors, named by KILN_FUZZ_HF_CHECKPOINT or
// found next to the corpus). Configs that match those weights import and
// must verify; the rest must fail with a message, never crash.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/HuggingFace/HuggingFace.h"
#include "kiln/Target/Safetensors/Checkpoint.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace {
const ::kiln::safetensors::Checkpoint *checkpoint = nullptr;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *path = std::getenv("KILN_FUZZ_HF_CHECKPOINT");
  if (!path)
    path = KILN_FUZZ_HF_CHECKPOINT_DEFAULT;
  auto opened = ::kiln::safetensors::Checkpoint::open(path);
  if (!opened) {
    std::fprintf(stderr, "HuggingFaceConfigFuzzer: %s\n",
                 llvm::toString(opened.takeError()).c_str());
    std::exit(1);
  }
  checkpoint = opened->release();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto module = mlir::kiln::importHuggingFaceConfig(
      text, "fuzz/config.json", *checkpoint, &context);
  if (!module) {
    std::string message = llvm::toString(module.takeError());
    // An imported module that does not verify is an importer bug.
    if (message.empty() || llvm::StringRef(message).contains("internal error"))
      std::abort();
  }
  return 0;
}
