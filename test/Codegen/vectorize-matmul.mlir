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
