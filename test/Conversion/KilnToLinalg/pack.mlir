// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s --check-prefix=NOKILN
// NOKILN-NOT: kiln.

// cu_seqlens is the exclusive prefix sum of the clamped lengths; each
// sequence's rows are then copied to offset cu_seqlens[b].
// CHECK-LABEL: func.func @pack_right(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x8xf32>, %[[LEN:[^:]*]]: tensor<?xi32>
// CHECK: %[[CU0:.*]] = tensor.insert %{{.*}} into %{{.*}}[%{{.*}}] : tensor<?xi32>
// CHECK: %[[PREFIX:.*]]:2 = scf.for %[[B:.*]] = {{.*}} iter_args(%[[CU:.*]] = %[[CU0]], %[[TOTAL:.*]] = %{{.*}}) -> (tensor<?xi32>, index)
// CHECK: tensor.extract %[[LEN]][%[[B]]] : tensor<?xi32>
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[SUM:.*]] = arith.addi %[[TOTAL]], %{{.*}} : index
// CHECK: tensor.insert %{{.*}} into %[[CU]]
// The token count is read back from cu_seqlens[batch].
// CHECK: %[[TOTAL32:.*]] = tensor.extract %[[PREFIX]]#0[%{{.*}}] : tensor<?xi32>
// CHECK: %[[TOKENS:.*]] = arith.index_cast %[[TOTAL32]] : i32 to index
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[TOKENS]]) : tensor<?x8xf32>
// CHECK: %[[PACKED:.*]] = scf.for %[[S:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[EMPTY]])
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[X]][%[[S]], 0, 0] [1, %{{.*}}, 8] [1, 1, 1]
// CHECK: tensor.collapse_shape %[[ROWS]]
// CHECK: tensor.insert_slice %{{.*}} into %[[ACC]]
// CHECK: return %[[PACKED]], %[[PREFIX]]#0
func.func @pack_right(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %p, %cu : tensor<?x8xf32>, tensor<?xi32>
}

// -----

// Left padding: the real rows start at seq_len - length.
// CHECK-LABEL: func.func @pack_left(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x8xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[LEN:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.subi %{{.*}}, %[[LEN]] : index
// CHECK: tensor.extract_slice %[[X]][%{{.*}}, %[[ROW]], 0] [1, %[[LEN]], 8]
func.func @pack_left(%x: tensor<?x?x8xf32>, %len: tensor<?xi64>) -> (tensor<?x8xf32>, tensor<?xi32>) {
  %p, %cu = kiln.pack %x lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi64>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %p, %cu : tensor<?x8xf32>, tensor<?xi32>
}

// -----

// Unpack starts from zeros and inserts each sequence's tokens into its row.
// CHECK-LABEL: func.func @unpack_left(
// CHECK-SAME: %[[P:[^:]*]]: tensor<?x8xf32>, %[[CU:[^:]*]]: tensor<?xi32>, %[[SEQ:[^:]*]]: index
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x?x8xf32>)
// CHECK: %[[R:.*]] = scf.for %[[B:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]])
// CHECK: %[[LEN:.*]] = arith.minsi %{{.*}}, %[[SEQ]] : index
// CHECK: %[[ROW:.*]] = arith.subi %[[SEQ]], %[[LEN]] : index
// CHECK: %[[TOK:.*]] = tensor.extract_slice %[[P]]
// CHECK: %[[ROWS:.*]] = tensor.expand_shape %[[TOK]]
// CHECK: tensor.insert_slice %[[ROWS]] into %[[ACC]][%[[B]], %[[ROW]], 0]
// CHECK: return %[[R]]
func.func @unpack_left(%p: tensor<?x8xf32>, %cu: tensor<?xi32>, %s: index) -> tensor<?x?x8xf32> {
  %y = kiln.unpack %p cu_seqlens %cu seq_len %s side <left> : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
