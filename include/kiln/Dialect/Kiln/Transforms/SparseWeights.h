//===- SparseWeights.h - Sparse weight analysis and encodings ---*- C++ -*-===//
//
// Part of Kiln. What kiln-sparsify measures on a weight (2:4 structure,
// all-zero blocks) and the compressed forms kiln-compile writes: shared by
// the pass, which decides, and by the weights writer, which encodes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_SPARSEWEIGHTS_H
#define KILN_DIALECT_KILN_TRANSFORMS_SPARSEWEIGHTS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln {
namespace safetensors {
struct TensorInfo;
} // namespace safetensors

namespace sparse {

/// A dense row-major `[rows, cols]` f32 matrix (`[out, in]`, as
/// torch.nn.Linear stores it).
struct Matrix {
  llvm::ArrayRef<float> data;
  int64_t rows = 0, cols = 0;
  float at(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

/// The f32 values of a 2-D F32, F16 or BF16 checkpoint tensor (widened
/// exactly), or an error naming the tensor.
llvm::Expected<std::vector<float>>
readMatrixAsF32(const safetensors::TensorInfo &tensor);

/// Fraction of non-zero elements.
double elementDensity(const Matrix &m);

/// True when every group of 4 consecutive elements of every row holds at
/// most 2 non-zeros (and cols is a multiple of 8, as the kernel needs).
bool isTwoFour(const Matrix &m);

/// Number of R x C blocks holding a non-zero; requires R | rows, C | cols.
int64_t countNonzeroBlocks(const Matrix &m, int64_t blockRows,
                           int64_t blockCols);

/// One part of a compressed form, as named by `kiln.param ... encoding`.
struct Encoding {
  enum class Kind { Bsr, TwoFour };
  enum class Part { Values, Columns, Offsets, Meta };
  Kind kind = Kind::Bsr;
  Part part = Part::Values;
  int64_t blockRows = 0, blockCols = 0; ///< Bsr only.

  /// "bsr16x16.values", "2:4.meta", ...
  std::string str() const;
  /// Parses str()'s spelling; nullopt when malformed.
  static std::optional<Encoding> parse(llvm::StringRef text);
};

/// An encoded tensor: its safetensors dtype name ("F32", "I32", "I8"),
/// shape and bytes.
struct EncodedTensor {
  std::string dtype;
  llvm::SmallVector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Encodes `m` into `encoding`'s part. Fails (with the reason) when the
/// matrix does not have the structure: not 2:4, or a block shape that does
/// not divide it.
llvm::Expected<EncodedTensor> encode(const Matrix &m, const Encoding &encoding);

} // namespace sparse
} // namespace kiln

#endif // KILN_DIALECT_KILN_TRANSFORMS_SPARSEWEIGHTS_H
