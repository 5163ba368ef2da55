// RUN: kiln-opt %s --kiln-cpu-vectorize-matmul --canonicalize --split-input-file | FileCheck %s

// 128 columns: 4 x 16 register tiles (8 accumulators of 8 lanes). Loops:
// columns, then groups of 4 rows up to the last full group, then the
// leftover rows one at a time. In a full group, the k loop carries the 8
// accumulators; each step loads two 8-lane pieces of a row of B and, per
// row, broadcasts A[row, k] into two FMAs.

#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK: #[[$FULL:.*]] = affine_map<()[s0] -> ((s0 floordiv 4) * 4)>
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<?x32xf32>, %[[B:.*]]: tensor<32x128xf32>, %[[C:.*]]: tensor<?x128xf32>)
// CHECK: %[[M:[a-z0-9_]+]] = tensor.dim %[[A]], %c0
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %c0 to %c128 step %c16
// CHECK: %[[END:[0-9]+]] = affine.apply #[[$FULL]]()[%[[M]]]
// CHECK: scf.for %[[ROW:[a-z0-9_]+]] = %c0 to %[[END]] step %c4
// CHECK: %[[BT:.*]] = tensor.extract_slice %[[B]][0, %[[N]]] [32, 16] [1, 1]
// CHECK: %[[CT:.*]] = tensor.extract_slice %{{.*}}[%[[ROW]], %[[N]]] [4, 16] [1, 1] : tensor<?x128xf32> to tensor<4x16xf32>
// CHECK: %[[AT:.*]] = tensor.extract_slice %[[A]][%[[ROW]], 0] [4, 32] [1, 1]
// CHECK-COUNT-8: vector.transfer_read %[[CT]]{{.*}} : tensor<4x16xf32>, vector<8xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c32 step %c1 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: %[[B0:.*]] = vector.transfer_read %[[BT]][%[[K]], %c0]
// CHECK: %[[B1:.*]] = vector.transfer_read %[[BT]][%[[K]], %c8]
// CHECK: %[[A0:.*]] = tensor.extract %[[AT]][%c0, %[[K]]]
// CHECK: %[[S0:.*]] = vector.broadcast %[[A0]] : f32 to vector<8xf32>
// CHECK: vector.fma %[[S0]], %[[B0]]
// CHECK: vector.fma %[[S0]], %[[B1]]
// CHECK-COUNT-3: vector.broadcast
// CHECK: scf.yield
// CHECK-COUNT-8: vector.transfer_write
// Leftover rows: one row of 16 columns at a time.
// CHECK: scf.for %{{.*}} = %[[END]] to %[[M]] step %c4
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: vector.fma
func.func @matmul(%a: tensor<?x32xf32>, %b: tensor<32x128xf32>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x128xf32>) outs(%c : tensor<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// 40 columns: the widest tile that divides it is one row of 8.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @narrow
// CHECK: scf.for %{{.*}} = %c0 to %c40 step %c8
// CHECK: scf.for {{.*}} -> (vector<8xf32>)
// CHECK-NOT: step %c6
func.func @narrow(%a: tensor<?x32xf32>, %b: tensor<32x40xf32>, %c: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x40xf32>) outs(%c : tensor<?x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %r : tensor<?x40xf32>
}

// -----

// No supported width divides 37 columns: left to the loop vectorizer.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @odd
// CHECK-NOT: vector.
// CHECK: linalg.generic
func.func @odd(%a: tensor<?x32xf32>, %b: tensor<32x37xf32>, %c: tensor<?x37xf32>) -> tensor<?x37xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x37xf32>) outs(%c : tensor<?x37xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x37xf32>
  return %r : tensor<?x37xf32>
}

// -----

// B is a weight with 768 columns: 4 x 24 tiles, B read as contiguous
// [768 / 24, k, 24] panels and C through a [m, 32, 24] view; groups of 4
// rows, 12 accumulators, three 8-lane loads per panel row.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @weight_panels
// CHECK: %[[P:.*]] = kiln.param "fc.weight" transposed panels 24 : tensor<32x32x24xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 32, 24] : tensor<?x768xf32> into tensor<?x32x24xf32>
// CHECK: scf.for %[[NB:[a-z0-9_]+]] = %c0 to %c32 step %c1
// CHECK: scf.for %{{.*}} step %c4
// CHECK: %[[PANEL:.*]] = tensor.extract_slice %[[P]][%[[NB]], 0, 0] [1, 32, 24] [1, 1, 1] : tensor<32x32x24xf32> to tensor<1x32x24xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.transfer_read %[[PANEL]][%c0, %[[K]], %c0]
// CHECK: vector.transfer_read %[[PANEL]][%c0, %[[K]], %c8]
// CHECK: vector.transfer_read %[[PANEL]][%c0, %[[K]], %c16]
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<?x32x24xf32> into tensor<?x768xf32>
func.func @weight_panels(%a: tensor<?x32xf32>, %c: tensor<?x768xf32>) -> tensor<?x768xf32> {
  %b = kiln.param "fc.weight" transposed : tensor<32x768xf32>
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x768xf32>) outs(%c : tensor<?x768xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x768xf32>
  return %r : tensor<?x768xf32>
}

// -----

// A column block of a weight (as kiln-cpu-tile-and-parallelize cuts them):
// the tile follows from all 768 columns (4x24), and the block reads
// panels [offset / 24, offset / 24 + 4) of the whole weight's panels.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @weight_column_block
// CHECK-SAME: %{{.*}}: tensor<?x32xf32>, %[[C:.*]]: tensor<?x96xf32>, %[[OFF:.*]]: index
// CHECK: %[[P:.*]] = kiln.param "fc.weight" transposed panels 24 : tensor<32x32x24xf32>
// CHECK: %[[FIRST:.*]] = arith.divui %[[OFF]], %c24
// CHECK: %[[BLOCK:.*]] = tensor.extract_slice %[[P]][%[[FIRST]], 0, 0] [4, 32, 24] [1, 1, 1] : tensor<32x32x24xf32> to tensor<4x32x24xf32>
// CHECK: tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 24] : tensor<?x96xf32> into tensor<?x4x24xf32>
// CHECK: scf.for %[[NB:[a-z0-9_]+]] = %c0 to %c4 step %c1
// CHECK: tensor.extract_slice %[[BLOCK]][%[[NB]], 0, 0] [1, 32, 24]
func.func @weight_column_block(%a: tensor<?x32xf32>, %c: tensor<?x96xf32>, %off: index) -> tensor<?x96xf32> {
  %w = kiln.param "fc.weight" transposed : tensor<32x768xf32>
  %b = tensor.extract_slice %w[0, %off] [32, 96] [1, 1] : tensor<32x768xf32> to tensor<32x96xf32>
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x96xf32>) outs(%c : tensor<?x96xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x96xf32>
  return %r : tensor<?x96xf32>
}

// -----

// A weight with 203 columns, a multiple of no tile width: 4x24 tiles
// still (13 columns of padding), the weight read as 9 panels of 24, the
// last one zero-padded (`columns 203`). The 8 whole panels (192 columns) are tiled as
// usual; the last 11 columns get 4x24 tiles over the two 8-lane pieces
// that hold some, reading the padded panel 8 whole and reading and writing
// C's second piece (columns 200..207 of 203) masked.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @weight_partial_panel
// CHECK-SAME: (%[[A:.*]]: tensor<?x32xf32>, %[[C:.*]]: tensor<?x203xf32>)
// CHECK: %[[WHOLE:.*]] = tensor.extract_slice %[[C]][0, 0] [%{{.*}}, 192] [1, 1]
// CHECK: %[[P:.*]] = kiln.param "fc.weight" transposed panels 24 columns 203 : tensor<9x32x24xf32>
// CHECK: tensor.extract_slice %[[P]][0, 0, 0] [8, 32, 24] [1, 1, 1] : tensor<9x32x24xf32> to tensor<8x32x24xf32>
// CHECK: tensor.expand_shape %[[WHOLE]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 8, 24] : tensor<?x192xf32> into tensor<?x8x24xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK: tensor.collapse_shape
// CHECK: %[[REST:.*]] = tensor.extract_slice %[[C]][0, 192] [%{{.*}}, 11] [1, 1] : tensor<?x203xf32> to tensor<?x11xf32>
// CHECK: %[[P2:.*]] = kiln.param "fc.weight" transposed panels 24 columns 203 : tensor<9x32x24xf32>
// CHECK: %[[LAST:.*]] = tensor.extract_slice %[[P2]][8, 0, 0] [1, 32, 24] [1, 1, 1] : tensor<9x32x24xf32> to tensor<1x32x24xf32>
// CHECK: scf.for %[[ROW:[a-z0-9_]+]] = %c0 to %{{.*}} step %c4 iter_args(%[[CI:.*]] = %[[REST]])
// CHECK: vector.transfer_read %[[CI]][%[[ROW]], %c0], %{{.*}} {in_bounds = [true]} : tensor<?x11xf32>, vector<8xf32>
// CHECK: vector.transfer_read %[[CI]][%[[ROW]], %c8], %cst : tensor<?x11xf32>, vector<8xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.transfer_read %[[LAST]][%c0, %[[K]], %c0], %{{.*}} {in_bounds = [true]}
// CHECK: vector.transfer_read %[[LAST]][%c0, %[[K]], %c8], %{{.*}} {in_bounds = [true]}
// CHECK-NOT: vector.transfer_read %[[LAST]]
// CHECK: scf.yield
// CHECK: vector.transfer_write %{{.*}}, %[[CI]][%[[ROW]], %c0] {in_bounds = [true]}
// CHECK: vector.transfer_write %{{.*}}[%[[ROW]], %c8] : vector<8xf32>, tensor<?x11xf32>
// Leftover rows: one row of the partial panel at a time.
// CHECK: scf.for
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 192] [%{{.*}}, 11] [1, 1]
func.func @weight_partial_panel(%a: tensor<?x32xf32>, %c: tensor<?x203xf32>) -> tensor<?x203xf32> {
  %b = kiln.param "fc.weight" transposed : tensor<32x203xf32>
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x203xf32>) outs(%c : tensor<?x203xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x203xf32>
  return %r : tensor<?x203xf32>
}

// -----

// The columns of the partial last panel alone, as
// kiln-cpu-tile-and-parallelize splits them off (50257 columns: 2094 whole
// panels of 24, then one column): one 8-lane piece, read and written
// masked; B is padded panel 2094.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @weight_last_column
// CHECK: %[[P:.*]] = kiln.param "lm_head.weight" transposed panels 24 columns 50257 : tensor<2095x32x24xf32>
// CHECK: %[[LAST:.*]] = tensor.extract_slice %[[P]][2094, 0, 0] [1, 32, 24]
// CHECK: vector.transfer_read %{{.*}}[%{{.*}}, %c0], %cst : tensor<?x1xf32>, vector<8xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.transfer_read %[[LAST]][%c0, %[[K]], %c0]
// CHECK-NOT: vector.transfer_read %[[LAST]]
// CHECK: vector.transfer_write %{{.*}}[%{{.*}}, %c0] : vector<8xf32>, tensor<?x1xf32>
func.func @weight_last_column(%a: tensor<?x32xf32>, %c: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %w = kiln.param "lm_head.weight" transposed : tensor<32x50257xf32>
  %b = tensor.extract_slice %w[0, 50256] [32, 1] [1, 1] : tensor<32x50257xf32> to tensor<32x1xf32>
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x1xf32>) outs(%c : tensor<?x1xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32>
  return %r : tensor<?x1xf32>
}

// -----

// A quantized weight (int4, groups of 32, asymmetric) with 37 columns:
// 1x8 tiles, values, scales and zero points read as 5 panels of 8 (the
// last zero-padded, so `columns 37`); 4 whole panels in the panel loop, then panel 4 peeled
// off, its C piece (columns 32..39 of 37) read and written masked.
#A = affine_map<(d0, d1, d2) -> (d0, d1)>
#Q = affine_map<(d0, d1, d2) -> (d1 floordiv 2, d2)>
#G = affine_map<(d0, d1, d2) -> (d1 floordiv 32, d2)>
#C = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @quantized_partial_panel
// CHECK: %[[V:.*]] = kiln.param "w" transposed panels 8 columns 37 quant <bits = 4, group = 32, symmetric = false> part <values> : tensor<5x32x8xi8>
// CHECK: %[[S:.*]] = kiln.param "w" transposed panels 8 columns 37 quant <bits = 4, group = 32, symmetric = false> part <scales> : tensor<5x2x8xf32>
// CHECK: %[[Z:.*]] = kiln.param "w" transposed panels 8 columns 37 quant <bits = 4, group = 32, symmetric = false> part <zero_points> : tensor<5x2x8xf32>
// CHECK: %[[WHOLE:.*]] = scf.for %[[PANEL:[a-z0-9_]+]] = %c0 to %c4 step %c1
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<?x37xf32>, vector<8xf32>
// CHECK: vector.transfer_write %{{.*}} {in_bounds = [true]} : vector<8xf32>, tensor<?x37xf32>
// CHECK: scf.for %[[ROW:[a-z0-9_]+]] = %c0 to %{{.*}} step %c1 iter_args(%[[CI:.*]] = %[[WHOLE]])
// CHECK: vector.transfer_read %[[CI]][%[[ROW]], %c32], %cst : tensor<?x37xf32>, vector<8xf32>
// CHECK: vector.transfer_read %[[S]][%c4, %{{.*}}, %c0]
// CHECK: vector.transfer_read %[[Z]][%c4, %{{.*}}, %c0]
// CHECK: vector.transfer_read %[[V]][%c4, %{{.*}}, %c0]
// CHECK: vector.transfer_write %{{.*}}, %[[CI]][%[[ROW]], %c32] : vector<8xf32>, tensor<?x37xf32>
func.func @quantized_partial_panel(%x: tensor<?x64xf32>, %init: tensor<?x37xf32>) -> tensor<?x37xf32> {
  %c1_i32 = arith.constant 1 : i32
  %c4_i32 = arith.constant 4 : i32
  %c15_i32 = arith.constant 15 : i32
  %q = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <values> : tensor<32x37xi8>
  %s = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <scales> : tensor<2x37xf32>
  %z = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <zero_points> : tensor<2x37xf32>
  %r = linalg.generic {indexing_maps = [#A, #Q, #G, #G, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %q, %s, %z : tensor<?x64xf32>, tensor<32x37xi8>, tensor<2x37xf32>, tensor<2x37xf32>) outs(%init : tensor<?x37xf32>)
      attrs = {kiln.quant = #kiln.quant<bits = 4, group = 32, symmetric = false>} {
  ^bb0(%in: f32, %byte: i8, %scale: f32, %zero: f32, %out: f32):
    %wide = arith.extui %byte : i8 to i32
    %k = linalg.index 1 : index
    %k32 = arith.index_cast %k : index to i32
    %odd = arith.andi %k32, %c1_i32 : i32
    %shift = arith.muli %odd, %c4_i32 : i32
    %shifted = arith.shrui %wide, %shift : i32
    %nibble = arith.andi %shifted, %c15_i32 : i32
    %v = arith.uitofp %nibble : i32 to f32
    %d = arith.subf %v, %zero : f32
    %w = arith.mulf %d, %scale : f32
    %p = arith.mulf %in, %w : f32
    %sum = arith.addf %out, %p : f32
    linalg.yield %sum : f32
  } -> tensor<?x37xf32>
  return %r : tensor<?x37xf32>
}
