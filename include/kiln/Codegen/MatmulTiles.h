//===- MatmulTiles.h - Tile choices shared by the CPU matmul passes -*- C++ -*-===//
//
// Part of Kiln. kiln-cpu-tile-and-parallelize cuts weight matmuls into
// column blocks that kiln-cpu-vectorize-matmul then reads as whole weight
// panels; both must agree on the register tile of a weight, so both ask
// here.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_MATMULTILES_H
#define KILN_CODEGEN_MATMULTILES_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/IR/OpDefinition.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace kiln {

/// A register tile: `rows` x `cols` accumulators of C.
struct RegisterTile {
  int64_t rows = 0, cols = 0;
};

/// The register tile for `n` output columns: the first of 4x24, 2x48,
/// 4x16, 1x64, 1x32, 1x16, 1x8 whose width divides `n` (tiles are static: no
/// masks), or {0, 0} when none does or `n` is dynamic.
RegisterTile pickRegisterTile(int64_t n);

/// Columns of a 2-D `kiln.param` (read as [K, N], no panels yet) that a
/// matmul reads: all of them, or a static-width block at `offset` through a
/// `tensor.extract_slice` of whole rows.
struct ParamColumns {
  ParamOp param;
  /// First column read; 0 when the param is read whole.
  OpFoldResult offset;
  /// Number of columns read.
  int64_t size = 0;
  /// Columns of the whole param (N): what its panels are cut from.
  int64_t fullSize = 0;
};

/// Matches `value` as columns of a 2-D, not yet paneled kiln.param, seeing
/// through one unit-stride `tensor.extract_slice` that keeps every row.
std::optional<ParamColumns> matchParamColumns(Value value);

/// The param of `columns` read as `[N / width, K, width]` panels (a new
/// kiln.param with `panels width`, which kiln-compile stores contiguously),
/// sliced to the panels of the columns read. `width` must divide the offset
/// and size of `columns`.
Value createParamPanels(OpBuilder &builder, Location loc,
                        const ParamColumns &columns, int64_t width);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_MATMULTILES_H
