// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// Block-sparse: tokens transposed into zero-padded [K, Mp + 16] lanes; one
// parallel iteration per block row; per 16 tokens and 4 rows, a loop over
// the block row's stored blocks (offsets[i] .. offsets[i + 1]) and the
// block's columns, FMAs of the broadcast weight with a row of xT.

// CHECK-LABEL: func.func @bsr
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x64xf32>, %[[V:[^:]*]]: tensor<3x8x16xf32>, %[[C:[^:]*]]: tensor<3xi32>, %[[O:[^:]*]]: tensor<5xi32>, %[[B:[^:]*]]: tensor<32xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<?x64xf32>)
// CHECK: %[[XT:.*]] = tensor.insert_slice %[[T]]
// CHECK: %[[Y:.*]] = scf.forall (%[[I:.*]]) in (4) shared_outs
// CHECK: scf.for %{{[^ ]*}} = %{{.*}} to %{{.*}} step %c16
// CHECK: tensor.extract %[[B]]
// CHECK: %[[FIRST:.*]] = tensor.extract %[[O]][%[[I]]]
// CHECK: scf.for %[[P:[^ ]*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: tensor.extract %[[C]][%[[P]]]
// CHECK: scf.for
// CHECK: vector.transfer_read %[[XT]]{{.*}} {in_bounds = [true]} : tensor<64x?xf32>, vector<16xf32>
// CHECK: tensor.extract %[[V]][%[[P]]
// CHECK: vector.fma
// Accumulators transposed in registers: one vector<4xf32> per token row.
// CHECK: vector.from_elements {{.*}} : vector<4xf32>
// CHECK: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<4xf32>, tensor<?x8xf32>
// CHECK: tensor.parallel_insert_slice
// CHECK: %[[REAL:.*]] = tensor.extract_slice %[[Y]][0, 0] [%{{.*}}, 32] [1, 1]
// CHECK: %[[COPY:.*]] = linalg.copy ins(%[[REAL]] : tensor<?x32xf32>)
// CHECK: return %[[COPY]]
func.func @bsr(%x: tensor<?x64xf32>, %v: tensor<3x8x16xf32>, %c: tensor<3xi32>, %o: tensor<5xi32>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = kiln.block_sparse_linear %x, %v, %c, %o bias %b : (tensor<?x64xf32>, tensor<3x8x16xf32>, tensor<3xi32>, tensor<5xi32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// 2:4: per metadata byte (4 values), each value's input row is
// 8q + 4 * (s / 2) + ((byte >> 2s) & 3).

// CHECK-LABEL: func.func @two_four
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x?x64xf32>, %[[V:[^:]*]]: tensor<32x32xf32>, %[[M:[^:]*]]: tensor<32x8xi8>
// CHECK: tensor.collapse_shape %[[X]]
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs
// CHECK: scf.for %{{.*}} step %c16
// CHECK: scf.for %{{[^ ]*}} = %{{.*}} to %{{.*}} step
// CHECK: %[[BYTE:.*]] = tensor.extract %[[M]]
// CHECK: %[[BITS:.*]] = arith.extui %[[BYTE]] : i8 to i32
// CHECK: arith.shrui %[[BITS]]
// CHECK: arith.andi
// CHECK: tensor.extract %[[V]]
// CHECK: vector.fma
// CHECK: tensor.expand_shape
func.func @two_four(%x: tensor<2x?x64xf32>, %v: tensor<32x32xf32>, %m: tensor<32x8xi8>) -> tensor<2x?x32xf32> {
  %y = kiln.semi_sparse_linear %x, %v, %m : (tensor<2x?x64xf32>, tensor<32x32xf32>, tensor<32x8xi8>) -> tensor<2x?x32xf32>
  return %y : tensor<2x?x32xf32>
}
