//===- NpyFuzzer.cpp - libFuzzer target for the .npy reader ---------------===//
//
// Feeds arbitrary bytes to parseNpy. A file the reader accepts must describe
// exactly the bytes it holds and must serialize back to a file that parses
// to the same array: kiln-run writes outputs with serializeNpy, so the two
// must agree.
//
//===----------------------------------------------------------------------===//

#include "kiln/Runtime/Npy.h"

#include <cstdlib>
#include <cstring>

using namespace kiln::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  NpyArray array;
  std::string error;
  if (!parseNpy(data, size, array, error)) {
    if (error.empty())
      std::abort(); // Every rejection must say why.
    return 0;
  }
  if (static_cast<uint64_t>(array.numElements()) *
          kiln_dtype_size(array.dtype) !=
      array.data.size())
    std::abort();
  std::string bytes;
  // bf16 has no numpy dtype and is never parsed, so every array round-trips.
  if (!serializeNpy(array.dtype, array.shape.data(),
                    static_cast<int32_t>(array.shape.size()),
                    array.data.data(), bytes, error))
    std::abort();
  NpyArray again;
  if (!parseNpy(bytes.data(), bytes.size(), again, error) ||
      again.dtype != array.dtype || again.shape != array.shape ||
      again.data != array.data)
    std::abort();
  return 0;
}
