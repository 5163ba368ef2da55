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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"

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

/// The register tile of a weight with `n` columns, read as panels: that of
/// pickRegisterTile when one divides `n`; otherwise (n >= 8) the first tile
/// at most `n` wide whose zero-padded last panel wastes at most an eighth
/// of `n`, or failing that the one that pads least. Such a weight is
/// stored as `ceil(n / cols)` panels, the last one partial.
RegisterTile pickWeightRegisterTile(int64_t n);

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
/// through unit-stride `tensor.extract_slice`s that keep every row (of which
/// at most one may have a dynamic column offset other than 0).
std::optional<ParamColumns> matchParamColumns(Value value);

/// The param of `columns` read as `[ceil(N / width), K, width]` panels (a
/// new kiln.param with `panels width`, which kiln-compile stores
/// contiguously, the last panel zero-padded and `columns N` set when it is
/// partial), sliced to the panels of the columns read. `width` must divide
/// the offset of `columns`, and its size too unless the columns end at
/// column N (then the slice ends with the partial panel).
Value createParamPanels(OpBuilder &builder, Location loc,
                        const ParamColumns &columns, int64_t width);

/// Splits `op`, a linalg.generic with loops (m, k, n) and one init, at
/// column `split` of n into two generics on columns [0, split) and
/// [split, n), whose results are inserted into the init (into the
/// destination of a `linalg.fill` init, each part then filling its own
/// slice so that tiling can still fuse the fill). Operands are sliced along
/// the results of their indexing maps that are `n`. Fails, changing
/// nothing, when `n` is dynamic or `split` not inside it, when a map uses
/// `n` other than as a whole result, or when the body reads `linalg.index
/// 2`.
FailureOr<std::pair<linalg::GenericOp, linalg::GenericOp>>
splitColumns(RewriterBase &rewriter, linalg::GenericOp op, int64_t split);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_MATMULTILES_H
