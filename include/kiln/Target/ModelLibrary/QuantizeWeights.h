//===- QuantizeWeights.h - Weight-only quantization numerics ----*- C++ -*-===//
//
// Part of Kiln. The numbers behind `#kiln.quant`: kiln-compile quantizes
// checkpoint weights with these when it writes the weights file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_MODELLIBRARY_QUANTIZEWEIGHTS_H
#define KILN_TARGET_MODELLIBRARY_QUANTIZEWEIGHTS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <vector>

namespace mlir {
namespace kiln {

/// A [K, N] weight quantized along K in groups (see `#kiln.quant`).
struct QuantizedWeight {
  /// [K, N] i8 values, or [K / 2, N] bytes of two int4 nibbles (row 2i low,
  /// row 2i + 1 high).
  std::vector<int8_t> values;
  /// [K / group, N] scales and zero points (zero points empty when
  /// symmetric).
  std::vector<float> scales, zeroPoints;
};

/// Quantizes the row-major [k, n] f32 `weight` with `bits` (4 or 8),
/// `group` (dividing k; even for 4 bits) and `symmetric`, round to nearest
/// (half to even) in f32 arithmetic, as `#kiln.quant` documents.
QuantizedWeight quantizeWeight(llvm::ArrayRef<float> weight, int64_t k,
                               int64_t n, int64_t bits, int64_t group,
                               bool symmetric);

} // namespace kiln
} // namespace mlir

#endif // KILN_TARGET_MODELLIBRARY_QUANTIZEWEIGHTS_H
