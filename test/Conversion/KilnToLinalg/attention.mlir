// RUN: kiln-opt %s --kiln-lower-to-linalg="flash-attention=false" --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg="flash-attention=false" --split-input-file | FileCheck %s --check-prefix=NOKILN
// NOKILN-NOT: kiln.

// GQA without repeated K/V: the query heads are viewed as [kv_heads, group]
// and K/V are read through affine maps. Softmax: masked scaled scores, row
// max, sum of exp(s - max), normalize (all-masked rows give 0), then P @ V.
// CHECK-DAG: #[[$QMAP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1, d2, d5)>
// CHECK-DAG: #[[$KMAP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d1, d5)>
// CHECK-LABEL: func.func @attention_gqa_causal(
// CHECK-SAME: %[[Q:.*]]: tensor<?x?x4x8xf32>, %[[K:.*]]: tensor<?x?x2x8xf32>, %[[V:.*]]: tensor<?x?x2x8xf32>
// CHECK: %[[QG:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3], [4]] output_shape [%{{.*}}, %{{.*}}, 2, 2, 8] : tensor<?x?x4x8xf32> into tensor<?x?x2x2x8xf32>
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[$QMAP]], #[[$KMAP]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[QG]], %[[K]] :
// CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[S]] :
// CHECK: %[[QI:.*]] = linalg.index 3 : index
// CHECK: %[[KJ:.*]] = linalg.index 4 : index
// CHECK: %[[CAUSAL:.*]] = arith.cmpi sle, %[[KJ]], %[[QI]] : index
// CHECK: arith.select %[[CAUSAL]], %{{.*}}, %{{.*}} : f32
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} ins(%[[L]] :
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[L]], %[[MAX]] :
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[L]], %[[MAX]], %[[SUM]] :
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: %[[O:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[V]] :
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0], [1], [2, 3], [4]] : tensor<?x?x2x2x8xf32> into tensor<?x?x4x8xf32>
// CHECK: return %[[R]]
func.func @attention_gqa_causal(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> {
  %o = kiln.attention %q, %k, %v heads 4 kv_heads 2 mask <causal> : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}

// -----

// key_mask hides keys whose flag is zero; the clipped softmax clamps
// (zeta - gamma) * p + gamma into [0, 1].
// CHECK-LABEL: func.func @attention_padding_clipped(
// CHECK-SAME: %[[KM:[^:]*]]: tensor<?x?xi64>
// CHECK: linalg.generic
// CHECK: %[[B:.*]] = linalg.index 0 : index
// CHECK: %[[J:.*]] = linalg.index 4 : index
// CHECK: %[[FLAG:.*]] = tensor.extract %[[KM]][%[[B]], %[[J]]] : tensor<?x?xi64>
// CHECK: arith.cmpi ne, %[[FLAG]], %{{.*}} : i64
// CHECK: arith.maximumf
// CHECK: arith.minimumf
func.func @attention_padding_clipped(%q: tensor<?x?x2x8xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x8xf32>, %km: tensor<?x?xi64>) -> tensor<?x?x2x8xf32> {
  %o = kiln.attention %q, %k, %v key_mask %km heads 2 kv_heads 2 mask <padding> softmax <clipped zeta = 1.003, gamma = -0.003> : (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?xi64>) -> tensor<?x?x2x8xf32>
  return %o : tensor<?x?x2x8xf32>
}

// -----

// Block-sparse compares block indices of query and key.
// CHECK-LABEL: func.func @attention_block_sparse(
// CHECK: arith.divui
// CHECK: arith.divui
// CHECK: arith.maxui
// CHECK: arith.minui
// CHECK: arith.ori
func.func @attention_block_sparse(%q: tensor<?x?x2x8xf32>, %k: tensor<?x?x1x8xf32>, %v: tensor<?x?x1x8xf32>) -> tensor<?x?x2x8xf32> {
  %o = kiln.attention %q, %k, %v heads 2 kv_heads 1 mask <block_sparse block = 4, local = 2, global = 1> : (tensor<?x?x2x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x1x8xf32>) -> tensor<?x?x2x8xf32>
  return %o : tensor<?x?x2x8xf32>
}

// -----

// Packed: one padded attention of batch 1 per sequence, bounds from
// cu_seqlens, the result inserted back at the sequence's first token.
// CHECK-LABEL: func.func @attention_packed(
// CHECK-SAME: %[[Q:.*]]: tensor<?x4x8xf32>, %{{.*}}: tensor<?x2x8xf32>, %{{.*}}: tensor<?x2x8xf32>, %[[CU:.*]]: tensor<?xi32>
// CHECK: %[[OUT:.*]] = scf.for %[[SEQ:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<?x4x8xf32>)
// CHECK: %[[START32:.*]] = tensor.extract %[[CU]][%[[SEQ]]] : tensor<?xi32>
// CHECK: %[[START:.*]] = arith.index_cast %[[START32]] : i32 to index
// CHECK: %[[QS:.*]] = tensor.extract_slice %[[Q]][%[[START]], 0, 0] [%[[LEN:.*]], 4, 8] [1, 1, 1]
// CHECK: tensor.expand_shape %[[QS]] {{\[}}[0, 1], [2], [3]] output_shape [1, %[[LEN]], 4, 8]
// CHECK: math.exp
// CHECK: tensor.collapse_shape {{.*}} into tensor<1x?x4x8xf32>
// CHECK: %[[TOK:.*]] = tensor.collapse_shape {{.*}} {{\[}}[0, 1], [2], [3]] : tensor<1x?x4x8xf32> into tensor<?x4x8xf32>
// CHECK: %[[NEW:.*]] = tensor.insert_slice %[[TOK]] into %[[ACC]][%[[START]], 0, 0]
// CHECK: scf.yield %[[NEW]]
// CHECK: return %[[OUT]]
func.func @attention_packed(%q: tensor<?x4x8xf32>, %k: tensor<?x2x8xf32>, %v: tensor<?x2x8xf32>, %cu: tensor<?xi32>) -> tensor<?x4x8xf32> {
  %o = kiln.attention %q, %k, %v cu_seqlens %cu heads 4 kv_heads 2 mask <causal> : (tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<?x2x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
  return %o : tensor<?x4x8xf32>
}

// -----

// KV cache: the new rows go to positions[b] in both caches (a write outside
// the cache fails a cf.assert), then attention runs over the cache with
// queries at absolute positions.
// CHECK-LABEL: func.func @attention_kv_cache(
// CHECK-SAME: %[[K:[^:]*]]: tensor<?x?x2x8xf32>, %[[V:[^:]*]]: tensor<?x?x2x8xf32>, %[[KC:[^:]*]]: tensor<?x16x2x8xf32>, %[[VC:[^:]*]]: tensor<?x16x2x8xf32>, %[[POS:[^:]*]]: tensor<?xi64>
// CHECK: %[[CACHES:.*]]:2 = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[KA:.*]] = %[[KC]], %[[VA:.*]] = %[[VC]])
// CHECK: %[[P64:.*]] = tensor.extract %[[POS]][%[[B]]] : tensor<?xi64>
// CHECK: %[[P:.*]] = arith.index_cast %[[P64]] : i64 to index
// CHECK: %[[END:.*]] = arith.addi %[[P]], %{{.*}} : index
// CHECK: %[[GE:.*]] = arith.cmpi sge, %[[P]], %{{.*}} : index
// CHECK: %[[LE:.*]] = arith.cmpi sle, %[[END]], %{{.*}} : index
// CHECK: %[[OK:.*]] = arith.andi %[[GE]], %[[LE]] : i1
// CHECK: cf.assert %[[OK]], "attention: KV-cache write outside the cache
// CHECK: %[[KROWS:.*]] = tensor.extract_slice %[[K]][%[[B]], 0, 0, 0]
// CHECK: %[[KNEW:.*]] = tensor.insert_slice %[[KROWS]] into %[[KA]][%[[B]], %[[P]], 0, 0]
// CHECK: %[[VROWS:.*]] = tensor.extract_slice %[[V]][%[[B]], 0, 0, 0]
// CHECK: %[[VNEW:.*]] = tensor.insert_slice %[[VROWS]] into %[[VA]][%[[B]], %[[P]], 0, 0]
// CHECK: scf.yield %[[KNEW]], %[[VNEW]]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[CACHES]]#0 :
// CHECK: tensor.extract %[[POS]]
// CHECK: arith.cmpi slt
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[CACHES]]#1 :
// CHECK: return %{{.*}}, %[[CACHES]]#0, %[[CACHES]]#1
func.func @attention_kv_cache(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x8xf32>, %kc: tensor<?x16x2x8xf32>, %vc: tensor<?x16x2x8xf32>, %pos: tensor<?xi64>) -> (tensor<?x?x4x8xf32>, tensor<?x16x2x8xf32>, tensor<?x16x2x8xf32>) {
  %o, %kn, %vn = kiln.attention %q, %k, %v cache(%kc, %vc) positions %pos heads 4 kv_heads 2 mask <causal> : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<?x16x2x8xf32>, tensor<?x16x2x8xf32>, tensor<?xi64>) -> (tensor<?x?x4x8xf32>, tensor<?x16x2x8xf32>, tensor<?x16x2x8xf32>)
  return %o, %kn, %vn : tensor<?x?x4x8xf32>, tensor<?x16x2x8xf32>, tensor<?x16x2x8xf32>
}
