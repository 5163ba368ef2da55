//===- SafetensorsFuzzer.cpp - libFuzzer target for the safetensors reader ===//
//
// Feeds arbitrary bytes to SafetensorsFile::fromBuffer, the validation
// kiln-compile runs on every checkpoint. An accepted file's tensors must lie
// inside the buffer with the byte size their dtype and shape imply; every
// byte of every tensor is read so that AddressSanitizer sees a view that
// escapes the buffer.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/Safetensors/Safetensors.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdlib>

using namespace kiln::safetensors;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto file = SafetensorsFile::fromBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, "fuzz.safetensors"));
  if (!file) {
    std::string message = llvm::toString(file.takeError());
    if (message.empty())
      std::abort(); // Every rejection must say why.
    return 0;
  }
  const SafetensorsFile &st = **file;
  volatile uint8_t sink = 0;
  for (const TensorInfo &tensor : st.tensors()) {
    if (tensor.byteSize != tensor.numElements * dtypeSize(tensor.dtype) ||
        tensor.fileOffset < st.dataSectionOffset() ||
        tensor.fileOffset + tensor.byteSize > st.getFileSize() ||
        tensor.bytes.size() != tensor.byteSize ||
        st.lookup(tensor.name) != &tensor)
      std::abort();
    for (uint8_t byte : tensor.bytes)
      sink = sink ^ byte;
  }
  for (const auto &[key, value] : st.metadata())
    if (st.lookupMetadata(key) == std::nullopt)
      std::abort();
  (void)sink;
  return 0;
}
