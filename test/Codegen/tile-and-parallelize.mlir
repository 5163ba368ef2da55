// RUN: kiln-opt %s --kiln-cpu-tile-and-parallelize="matmul-rows=16" --split-input-file | FileCheck %s

// A projection: row blocks of 16 in an scf.forall, the zero fill fused into
// the block, and the loops ordered (m, k, n).

#mapA = affine_map<(m, n, k) -> (m, k)>
#mapB = affine_map<(m, n, k) -> (k, n)>
#mapC = affine_map<(m, n, k) -> (m, n)>
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul
// CHECK: scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (16)
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: tensor.parallel_insert_slice
func.func @matmul(%a: tensor<?x8xf32>, %b: tensor<8x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %r = linalg.matmul indexing_maps = [#mapA, #mapB, #mapC] ins(%a, %b : tensor<?x8xf32>, tensor<8x32xf32>) outs(%f : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// The accumulator starts from residual + bias (kiln-fuse-epilogue): that
// elementwise op is only the matmul's init, so each block computes its own
// part of it, in the block, before the matmul. The residual + bias op that
// is also returned is not fused (it would be computed twice).
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @residual_init
// CHECK-SAME: %[[RES:arg[0-9]+]]: tensor<?x32xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty
// CHECK: scf.forall (%[[I:.*]]) = (0) to (%{{.*}}) step (16) shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK: %[[R:.*]] = tensor.extract_slice %[[RES]][%[[I]], 0]
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[R]], %{{.*}} : tensor<?x32xf32>, tensor<32xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]{{.*}} outs(%[[INIT]] : tensor<?x32xf32>)
// CHECK: tensor.parallel_insert_slice
// CHECK-LABEL: func.func @shared_init
// CHECK: %[[SHARED:.*]] = scf.forall
// CHECK: scf.forall
// CHECK-NOT: arith.addf
// CHECK: tensor.parallel_insert_slice
func.func @residual_init(%a: tensor<?x8xf32>, %b: tensor<8x32xf32>, %res: tensor<?x32xf32>, %bias: tensor<32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %init = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%res, %bias : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
  ^bb0(%r: f32, %bb: f32, %out: f32):
    %s = arith.addf %r, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  %y = linalg.matmul indexing_maps = [#mA, #mB, #mC] ins(%a, %b : tensor<?x8xf32>, tensor<8x32xf32>) outs(%init : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
func.func @shared_init(%a: tensor<?x8xf32>, %b: tensor<8x32xf32>, %res: tensor<?x32xf32>, %bias: tensor<32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %init = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%res, %bias : tensor<?x32xf32>, tensor<32xf32>) outs(%e : tensor<?x32xf32>) {
  ^bb0(%r: f32, %bb: f32, %out: f32):
    %s = arith.addf %r, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  %y = linalg.matmul indexing_maps = [#mA, #mB, #mC] ins(%a, %b : tensor<?x8xf32>, tensor<8x32xf32>) outs(%init : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %y, %init : tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// Rank-3 ops: one sequence and 16 positions (matmul-rows) per block, so
// that a batch of one still splits.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.forall (%[[B:.*]], %[[S:.*]]) = (0, 0) to (%{{.*}}, %{{.*}}) step (1, 16)
// CHECK: tensor.extract_slice %{{.*}}[%[[B]], %[[S]], 0] [1, %{{.*}}, 4]
// CHECK: linalg.generic
func.func @elementwise(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x4xf32>) outs(%x : tensor<?x?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  return %r : tensor<?x?x4xf32>
}

// -----

// A row reduction whose first loop is a reduction is left alone.
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @column_sum
// CHECK-NOT: scf.forall
func.func @column_sum(%x: tensor<?x4xf32>, %acc: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<?x4xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Attention scores S[b, q, j] = sum_d Q[b, q, d] * K[b, j, d]: the head dim
// d is contiguous in Q and K, so it stays innermost, as a reassociable
// reduction.
#q = affine_map<(b, q, j, d) -> (b, q, d)>
#k = affine_map<(b, q, j, d) -> (b, j, d)>
#s = affine_map<(b, q, j, d) -> (b, q, j)>
// CHECK-LABEL: func.func @scores
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract>
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract>
func.func @scores(%q: tensor<?x?x16xf32>, %k: tensor<?x?x16xf32>, %init: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %r = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<?x?x16xf32>, tensor<?x?x16xf32>) outs(%init : tensor<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}

// -----

// O[b, q, e] = sum_j P[b, q, j] * V[b, j, e]: e is contiguous in V and O, so
// it moves innermost and j becomes the middle loop; no reassociation needed.
#p = affine_map<(b, q, e, j) -> (b, q, j)>
#v = affine_map<(b, q, e, j) -> (b, j, e)>
#o = affine_map<(b, q, e, j) -> (b, q, e)>
// CHECK-DAG: #[[$P:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$V:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$O:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @values
// CHECK: linalg.generic {indexing_maps = [#[[$P]], #[[$V]], #[[$O]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-NOT: fastmath
func.func @values(%p: tensor<?x?x?xf32>, %v: tensor<?x?x16xf32>, %init: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  %r = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<?x?x?xf32>, tensor<?x?x16xf32>) outs(%init : tensor<?x?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x?x16xf32>
  return %r : tensor<?x?x16xf32>
}

// -----

// A projection reading a weight: row blocks and column blocks. 768 columns
// are 32 panels of the 4x24 register tile; 8 blocks of 4 panels (96
// columns), so that one token still splits 8 ways.
#A = affine_map<(m, n, k) -> (m, k)>
#B = affine_map<(m, n, k) -> (k, n)>
#C = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @weight_columns
// CHECK: %[[W:.*]] = kiln.param "fc.weight" transposed : tensor<32x768xf32>
// CHECK: scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (%{{.*}}, 768) step (16, 96)
// CHECK: tensor.extract_slice %[[W]][0, %[[J]]] [32, 96] [1, 1] : tensor<32x768xf32> to tensor<32x96xf32>
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: } -> tensor<?x96xf32>
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I]], %[[J]]]
func.func @weight_columns(%a: tensor<?x32xf32>) -> tensor<?x768xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%m) : tensor<?x768xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x768xf32>) -> tensor<?x768xf32>
  %w = kiln.param "fc.weight" transposed : tensor<32x768xf32>
  %r = linalg.matmul indexing_maps = [#A, #B, #C] ins(%a, %w : tensor<?x32xf32>, tensor<32x768xf32>) outs(%f : tensor<?x768xf32>) -> tensor<?x768xf32>
  return %r : tensor<?x768xf32>
}

// -----

// Columns that fit no register tile (fewer than 8), or a B that is no
// weight: rows only.
#A = affine_map<(m, n, k) -> (m, k)>
#B = affine_map<(m, n, k) -> (k, n)>
#C = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @no_column_blocks
// CHECK: scf.forall (%{{[a-z0-9_]+}}) = (0) to (%{{.*}}) step (16)
// CHECK: scf.forall (%{{[a-z0-9_]+}}) = (0) to (%{{.*}}) step (16)
func.func @no_column_blocks(%a: tensor<?x32xf32>, %b: tensor<32x768xf32>) -> (tensor<?x6xf32>, tensor<?x768xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%m) : tensor<?x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x6xf32>) -> tensor<?x6xf32>
  %w = kiln.param "narrow.weight" transposed : tensor<32x6xf32>
  %r = linalg.matmul indexing_maps = [#A, #B, #C] ins(%a, %w : tensor<?x32xf32>, tensor<32x6xf32>) outs(%f : tensor<?x6xf32>) -> tensor<?x6xf32>
  %e2 = tensor.empty(%m) : tensor<?x768xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x768xf32>) -> tensor<?x768xf32>
  %r2 = linalg.matmul indexing_maps = [#A, #B, #C] ins(%a, %b : tensor<?x32xf32>, tensor<32x768xf32>) outs(%f2 : tensor<?x768xf32>) -> tensor<?x768xf32>
  return %r, %r2 : tensor<?x6xf32>, tensor<?x768xf32>
}

// -----

// A weight with 203 columns, a multiple of no tile width: 4x24 tiles over 9
// panels, the last one partial. The 8 whole panels (192 columns) get row
// and column blocks (8 of one panel); the last 11 columns a matmul of
// their own, in row blocks only. Each part fills its own slice of the
// output, inside its blocks.
#A = affine_map<(m, n, k) -> (m, k)>
#B = affine_map<(m, n, k) -> (k, n)>
#C = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @weight_partial_panel
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: %[[W:.*]] = kiln.param "fc.weight" transposed : tensor<32x203xf32>
// CHECK: %[[WHOLE:.*]] = tensor.extract_slice %[[W]][0, 0] [32, 192] [1, 1]
// CHECK: %[[EW:.*]] = tensor.extract_slice %[[E]][0, 0] [%{{.*}}, 192] [1, 1]
// CHECK: %[[R1:.*]] = scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (%{{.*}}, 192) step (16, 24) shared_outs(%{{.*}} = %[[EW]])
// CHECK: tensor.extract_slice %[[WHOLE]][0, %[[J]]] [32, 24] [1, 1] : tensor<32x192xf32> to tensor<32x24xf32>
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: } -> tensor<?x24xf32>
// CHECK: %[[REST:.*]] = tensor.extract_slice %[[W]][0, 192] [32, 11] [1, 1] : tensor<32x203xf32> to tensor<32x11xf32>
// CHECK: %[[ER:.*]] = tensor.extract_slice %[[E]][0, 192] [%{{.*}}, 11] [1, 1]
// CHECK: %[[R2:.*]] = scf.forall (%{{[a-z0-9_]+}}) = (0) to (%{{.*}}) step (16) shared_outs(%{{.*}} = %[[ER]])
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: } -> tensor<?x11xf32>
// CHECK: %[[I1:.*]] = tensor.insert_slice %[[R1]] into %[[E]][0, 0] [%{{.*}}, 192] [1, 1]
// CHECK: %[[I2:.*]] = tensor.insert_slice %[[R2]] into %[[I1]][0, 192] [%{{.*}}, 11] [1, 1]
// CHECK: return %[[I2]]
func.func @weight_partial_panel(%a: tensor<?x32xf32>) -> tensor<?x203xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %a, %c0 : tensor<?x32xf32>
  %e = tensor.empty(%m) : tensor<?x203xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x203xf32>) -> tensor<?x203xf32>
  %w = kiln.param "fc.weight" transposed : tensor<32x203xf32>
  %r = linalg.matmul indexing_maps = [#A, #B, #C] ins(%a, %w : tensor<?x32xf32>, tensor<32x203xf32>) outs(%f : tensor<?x203xf32>) -> tensor<?x203xf32>
  return %r : tensor<?x203xf32>
}
