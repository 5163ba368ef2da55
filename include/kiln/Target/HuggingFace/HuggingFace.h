//===- HuggingFace.h - Import Hugging Face model folders --------*- C++ -*-===//
//
// Turns a Hugging Face model folder (config.json + safetensors weights) into
// a kiln module whose kiln.param names are the checkpoint's tensor names.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_HUGGINGFACE_HUGGINGFACE_H
#define KILN_TARGET_HUGGINGFACE_HUGGINGFACE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace kiln {
namespace safetensors {
class Checkpoint;
} // namespace safetensors
} // namespace kiln

namespace mlir {
namespace kiln {

/// The `model_type` values importHuggingFaceModel understands.
llvm::ArrayRef<llvm::StringRef> getSupportedModelTypes();

/// True if `path` is a directory holding a `config.json`.
bool isHuggingFaceModelDir(llvm::StringRef path);

/// Builds the kiln module of the model in `dir`: reads `dir/config.json`,
/// dispatches on its `model_type` and checks every tensor the architecture
/// needs against `checkpoint` (name, dtype, shape). Entry points:
/// - `bert`: `forward(input_ids, attention_mask, token_type_ids)
///   -> last_hidden_state`;
/// - `llama`, `gpt2`: `forward(input_ids, attention_mask) -> logits`,
///   `prefill(input_ids, key_cache, value_cache)
///   -> (logits, key_cache, value_cache)` and
///   `decode_step(input_ids, positions, key_cache, value_cache)
///   -> (logits, key_cache, value_cache)`;
/// - `mamba`: `forward(input_ids) -> logits`,
///   `prefill(input_ids) -> (logits, conv_state, ssm_state)` and
///   `decode_step(input_ids, conv_state, ssm_state)
///   -> (logits, conv_state, ssm_state)`.
/// Errors name the config field or the tensor at fault.
llvm::Expected<OwningOpRef<ModuleOp>>
importHuggingFaceModel(llvm::StringRef dir,
                       const ::kiln::safetensors::Checkpoint &checkpoint,
                       MLIRContext *context);

/// importHuggingFaceModel on the text of a config.json; `path` names the
/// file in messages. The checkpoint is read as by importHuggingFaceModel.
llvm::Expected<OwningOpRef<ModuleOp>>
importHuggingFaceConfig(llvm::StringRef configText, llvm::StringRef path,
                        const ::kiln::safetensors::Checkpoint &checkpoint,
                        MLIRContext *context);

} // namespace kiln
} // namespace mlir

#endif // KILN_TARGET_HUGGINGFACE_HUGGINGFACE_H
