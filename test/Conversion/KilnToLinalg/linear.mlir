// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s --check-prefix=NOKILN
// NOKILN-NOT: kiln.

// The out_in weight is read transposed by the matmul's indexing maps; the
// bias is broadcast into the accumulator.
// CHECK-DAG: #[[$LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$RHS_T:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_out_in_bias(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x768xf32>, %[[W:.*]]: tensor<3072x768xf32>, %[[B:.*]]: tensor<3072xf32>
// CHECK-DAG: %[[D0:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x768xf32>
// CHECK-DAG: %[[D1:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x768xf32>
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x?x768xf32> into tensor<?x768xf32>
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<3072xf32>) outs(%{{.*}} : tensor<?x3072xf32>) dimensions = [0]
// CHECK: %[[MM:.*]] = linalg.matmul indexing_maps = [#[[$LHS]], #[[$RHS_T]], #[[$OUT]]] ins(%[[X2]], %[[W]] : tensor<?x768xf32>, tensor<3072x768xf32>) outs(%[[INIT]] : tensor<?x3072xf32>)
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [%[[D0]], %[[D1]], 3072] : tensor<?x3072xf32> into tensor<?x?x3072xf32>
// CHECK: return %[[Y]]
func.func @linear_out_in_bias(%x: tensor<?x?x768xf32>, %w: tensor<3072x768xf32>, %b: tensor<3072xf32>) -> tensor<?x?x3072xf32> {
  %y = kiln.linear %x, %w bias %b : (tensor<?x?x768xf32>, tensor<3072x768xf32>, tensor<3072xf32>) -> tensor<?x?x3072xf32>
  return %y : tensor<?x?x3072xf32>
}

// -----

// The in_out layout is a plain matmul; without bias the accumulator is zero.
// CHECK-LABEL: func.func @linear_in_out(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x16xf32>, %[[W:.*]]: tensor<16x24xf32>
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]]
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x24xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X2]], %[[W]] : tensor<?x16xf32>, tensor<16x24xf32>) outs(%[[ZERO]] : tensor<?x24xf32>)
// CHECK: tensor.expand_shape %[[MM]]
func.func @linear_in_out(%x: tensor<?x?x16xf32>, %w: tensor<16x24xf32>) -> tensor<?x?x24xf32> {
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x?x16xf32>, tensor<16x24xf32>) -> tensor<?x?x24xf32>
  return %y : tensor<?x?x24xf32>
}

// -----

// A 2-D input needs no reshape.
// CHECK-LABEL: func.func @linear_2d(
// CHECK-NOT: collapse_shape
// CHECK: %[[MM:.*]] = linalg.matmul
// CHECK-NOT: expand_shape
// CHECK: return %[[MM]]
func.func @linear_2d(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Gated FFN: gate and up projections, one pointwise pass for silu(gate) * up,
// then the down projection.
// CHECK-LABEL: func.func @ffn_swiglu(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x8xf32>, %[[UP:[^:]*]]: tensor<12x8xf32>, %[[GATE:[^:]*]]: tensor<12x8xf32>, %[[DOWN:[^:]*]]: tensor<8x12xf32>
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[UP]] :
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[GATE]] :
// CHECK: linalg.generic
// CHECK: ^bb0(%[[G:.*]]: f32, %[[U:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[NEG:.*]] = arith.negf %[[G]]
// CHECK: %[[EXP:.*]] = math.exp %[[NEG]]
// CHECK: %[[DEN:.*]] = arith.addf %{{.*}}, %[[EXP]]
// CHECK: %[[SILU:.*]] = arith.divf %[[G]], %[[DEN]]
// CHECK: %[[PROD:.*]] = arith.mulf %[[SILU]], %[[U]]
// CHECK: linalg.yield %[[PROD]]
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[DOWN]] :
// CHECK: tensor.expand_shape
func.func @ffn_swiglu(%x: tensor<?x?x8xf32>, %up: tensor<12x8xf32>, %gate: tensor<12x8xf32>, %down: tensor<8x12xf32>) -> tensor<?x?x8xf32> {
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu> : (tensor<?x?x8xf32>, tensor<12x8xf32>, tensor<12x8xf32>, tensor<8x12xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// Plain FFN with biases in the in_out layout; gelu is the erf form.
// CHECK-LABEL: func.func @ffn_plain_gelu(
// CHECK-SAME: %[[UB:[^:]*]]: tensor<12xf32>, %[[DB:[^:]*]]: tensor<8xf32>)
// CHECK: linalg.broadcast ins(%[[UB]]
// CHECK: linalg.matmul ins(
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.broadcast ins(%[[DB]]
// CHECK: linalg.matmul ins(
func.func @ffn_plain_gelu(%x: tensor<?x?x8xf32>, %up: tensor<8x12xf32>, %down: tensor<12x8xf32>, %ub: tensor<12xf32>, %db: tensor<8xf32>) -> tensor<?x?x8xf32> {
  %y = kiln.ffn %x up %up down %down up_bias %ub down_bias %db activation <gelu> layout <in_out> : (tensor<?x?x8xf32>, tensor<8x12xf32>, tensor<12x8xf32>, tensor<12xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
