//===- Signature.h - Checking tensors against a signature ------*- C++ -*-===//
//
// Everything the runtime checks before generated code runs: the descriptor a
// model.so exports (once, at open) and the caller's tensors (every run).
// Generated code trusts its inputs, so every mismatch must be caught here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_SIGNATURE_H
#define KILN_LIB_RUNTIME_SIGNATURE_H

#include "kiln/Runtime/kiln_model_abi.h"
#include "kiln/Runtime/kiln_runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {
namespace runtime {

/// The size a dynamic dimension takes in one call, and where it came from.
struct DimBinding {
  const char *name;
  int64_t size;
  int32_t input;
  int32_t dim;
};

/// Checks the structure of a model descriptor: non-null tables, valid
/// dtypes and ranks, names for dynamic dims, and that every dynamic output
/// dim is bound by some input. Also reports the largest number of tensors
/// and of dims (summed over inputs and outputs) of any entry, so contexts
/// can size their scratch tables once.
kiln_status checkModelDescriptor(const kiln_abi_model_desc &desc,
                                 const std::string &soPath, size_t &maxTensors,
                                 size_t &maxDims, std::string &error);

/// Checks the inputs of a call and binds every dynamic dim by name. Reuses
/// the capacity of `bindings`, so steady-state runs do not allocate.
kiln_status checkInputs(const kiln_abi_entry_desc &entry,
                        const kiln_tensor *inputs, int32_t numInputs,
                        std::vector<DimBinding> &bindings, std::string &error);

/// Writes the shape of output `output` given the bindings of checkInputs.
kiln_status inferOutputShape(const kiln_abi_entry_desc &entry,
                             const std::vector<DimBinding> &bindings,
                             int32_t output, int64_t *shape,
                             std::string &error);

/// Checks the outputs of a call against the shapes the inputs imply.
/// `shapeScratch` must hold the largest output rank.
kiln_status checkOutputs(const kiln_abi_entry_desc &entry,
                         const std::vector<DimBinding> &bindings,
                         const kiln_tensor *outputs, int32_t numOutputs,
                         int64_t *shapeScratch, std::string &error);

/// Fills `buffer` from a checked tensor; `strideStorage` (rank entries)
/// receives row-major strides when the tensor has none.
void makeBuffer(const kiln_tensor &tensor, kiln_abi_buffer &buffer,
                int64_t *strideStorage);

/// "[batch, 4]": the dims of a descriptor, dynamic ones by name.
std::string formatSignatureShape(const kiln_abi_tensor_desc &desc);

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_SIGNATURE_H
