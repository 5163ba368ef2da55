//===- QuantizeWeights.cpp - Weight-only quantization numerics ------------===//
//
// Part of Kiln. Round-to-nearest int8/int4 quantization of [K, N] weights in
// groups along K. Every step is f32 arithmetic with ties to even, so that a
// numpy float32 reimplementation reproduces the integers bit for bit.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/ModelLibrary/QuantizeWeights.h"

#include <algorithm>
#include <cmath>

using namespace mlir::kiln;

QuantizedWeight mlir::kiln::quantizeWeight(llvm::ArrayRef<float> weight,
                                           int64_t k, int64_t n, int64_t bits,
                                           int64_t group, bool symmetric) {
  int64_t groups = k / group;
  // Integer range of the stored code q (int4: the nibble before packing).
  float qmin, qmax;
  if (symmetric) {
    qmax = bits == 8 ? 127.0f : 7.0f;
    qmin = -qmax;
  } else {
    qmin = bits == 8 ? -128.0f : 0.0f;
    qmax = bits == 8 ? 127.0f : 15.0f;
  }
  // Symmetric int4 codes are stored offset by 8 (unsigned nibbles).
  float storeOffset = symmetric && bits == 4 ? 8.0f : 0.0f;
  std::vector<float> codes(k * n);
  QuantizedWeight result;
  result.scales.resize(groups * n);
  if (!symmetric)
    result.zeroPoints.resize(groups * n);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t col = 0; col < n; ++col) {
      float low = 0.0f, high = 0.0f;
      for (int64_t row = g * group; row < (g + 1) * group; ++row) {
        float w = weight[row * n + col];
        low = std::min(low, w);
        high = std::max(high, w);
      }
      float scale, zero = 0.0f;
      if (symmetric) {
        scale = std::max(-low, high) / qmax;
      } else {
        scale = (high - low) / (qmax - qmin);
      }
      if (scale == 0.0f || !std::isfinite(scale))
        scale = 1.0f;
      if (!symmetric)
        zero = std::clamp(std::nearbyint(qmin - low / scale), qmin, qmax);
      result.scales[g * n + col] = scale;
      if (!symmetric)
        result.zeroPoints[g * n + col] = zero;
      for (int64_t row = g * group; row < (g + 1) * group; ++row) {
        float q = std::nearbyint(weight[row * n + col] / scale) + zero;
        codes[row * n + col] = std::clamp(q, qmin, qmax) + storeOffset;
      }
    }
  }
  if (bits == 8) {
    result.values.assign(codes.begin(), codes.end());
    return result;
  }
  result.values.resize(k / 2 * n);
  for (int64_t row = 0; row < k / 2; ++row)
    for (int64_t col = 0; col < n; ++col) {
      auto low = static_cast<uint8_t>(codes[2 * row * n + col]);
      auto high = static_cast<uint8_t>(codes[(2 * row + 1) * n + col]);
      result.values[row * n + col] = static_cast<int8_t>(low | (high << 4));
    }
  return result;
}
