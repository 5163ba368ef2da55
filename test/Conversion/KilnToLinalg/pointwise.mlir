// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// kiln.param is not lowered here: the compile pipeline turns it into an
// argument later.
// CHECK-LABEL: func.func @param_survives(
// CHECK: %[[W:.*]] = kiln.param "model.embed.weight" : tensor<11x6xf32>
// CHECK: return %[[W]]
func.func @param_survives() -> tensor<11x6xf32> {
  %w = kiln.param "model.embed.weight" : tensor<11x6xf32>
  return %w : tensor<11x6xf32>
}

// -----

// CHECK-LABEL: func.func @activation_gelu_tanh(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x9xf32>
// CHECK: %[[D0:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[D1:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[E:.*]] = tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?x9xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x?x9xf32>) outs(%[[E]] : tensor<?x?x9xf32>)
// CHECK: math.tanh
// CHECK-NOT: kiln.
func.func @activation_gelu_tanh(%x: tensor<?x?x9xf32>) -> tensor<?x?x9xf32> {
  %y = kiln.activation <gelu_tanh> %x : tensor<?x?x9xf32>
  return %y : tensor<?x?x9xf32>
}

// -----

// CHECK-LABEL: func.func @activation_relu(
// CHECK: linalg.generic
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[R:.*]] = arith.maximumf %[[IN]], %{{.*}} : f32
// CHECK: linalg.yield %[[R]]
func.func @activation_relu(%x: tensor<?x9xf32>) -> tensor<?x9xf32> {
  %y = kiln.activation <relu> %x : tensor<?x9xf32>
  return %y : tensor<?x9xf32>
}

// -----

// CHECK-LABEL: func.func @add_mul(
// CHECK-SAME: %[[A:.*]]: tensor<?x?x4xf32>, %[[B:.*]]: tensor<?x?x4xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[B]] :
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[S]], %[[B]] :
// CHECK: arith.mulf
// CHECK-NOT: kiln.
func.func @add_mul(%a: tensor<?x?x4xf32>, %b: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %s = kiln.add %a, %b : tensor<?x?x4xf32>
  %p = kiln.mul %s, %b : tensor<?x?x4xf32>
  return %p : tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @heads(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x768xf32>
// CHECK-DAG: %[[D0:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK-DAG: %[[D1:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[S:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3]] output_shape [%[[D0]], %[[D1]], 12, 64] : tensor<?x?x768xf32> into tensor<?x?x12x64xf32>
// CHECK: %[[M:.*]] = tensor.collapse_shape %[[S]] {{\[}}[0], [1], [2, 3]] : tensor<?x?x12x64xf32> into tensor<?x?x768xf32>
// CHECK: return %[[M]]
func.func @heads(%x: tensor<?x?x768xf32>) -> tensor<?x?x768xf32> {
  %s = kiln.split_heads %x heads 12 : tensor<?x?x768xf32> -> tensor<?x?x12x64xf32>
  %m = kiln.merge_heads %s : tensor<?x?x12x64xf32> -> tensor<?x?x768xf32>
  return %m : tensor<?x?x768xf32>
}

// -----

// The ids are checked against [0, vocab) by a reduction feeding cf.assert
// (an execution error at run time), and the gather still clamps them.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[T:.*]]: tensor<30522x768xf32>, %[[IDS:.*]]: tensor<?x?xi64>
// CHECK: %[[OK:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}} ins(%[[IDS]] : tensor<?x?xi64>) outs(%{{.*}} : tensor<i1>)
// CHECK: ^bb0(%[[CID:.*]]: i64, %[[ACC:.*]]: i1):
// CHECK: %[[GE:.*]] = arith.cmpi sge, %[[CID]], %{{.*}} : i64
// CHECK: %[[LT:.*]] = arith.cmpi slt, %[[CID]], %{{.*}} : i64
// CHECK: %[[IN:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: %[[ACC2:.*]] = arith.andi %[[ACC]], %[[IN]] : i1
// CHECK: linalg.yield %[[ACC2]]
// CHECK: %[[ALL:.*]] = tensor.extract %[[OK]][] : tensor<i1>
// CHECK: cf.assert %[[ALL]], "embedding: an index into its table is outside [0, 30522); token ids must be below the vocabulary size
// CHECK: linalg.generic {{.*}} ins(%[[IDS]] : tensor<?x?xi64>)
// CHECK: ^bb0(%[[ID:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_cast %[[ID]] : i64 to index
// CHECK: %[[LO:.*]] = arith.maxsi %[[I]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.minsi %[[LO]], %{{.*}} : index
// CHECK: %[[COL:.*]] = linalg.index 2 : index
// CHECK: %[[V:.*]] = tensor.extract %[[T]][%[[ROW]], %[[COL]]] : tensor<30522x768xf32>
// CHECK: linalg.yield %[[V]]
func.func @embedding(%t: tensor<30522x768xf32>, %ids: tensor<?x?xi64>) -> tensor<?x?x768xf32> {
  %h = kiln.embedding %t[%ids] : tensor<30522x768xf32>, tensor<?x?xi64> -> tensor<?x?x768xf32>
  return %h : tensor<?x?x768xf32>
}
