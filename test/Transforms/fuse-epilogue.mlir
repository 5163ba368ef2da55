// RUN: kiln-opt %s --kiln-fuse-epilogue --split-input-file | FileCheck %s

// Pre-norm (LLaMA): x + o_proj(a), then x + ffn(n); either operand order.
// CHECK-LABEL: func.func @pre_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x16xf32>, %[[A:.*]]: tensor<?x?x16xf32>)
// CHECK: %[[H:.*]] = kiln.linear %[[A]], %{{.*}} residual %[[X]] :
// CHECK: %[[N:.*]] = kiln.rms_norm %[[H]]
// CHECK: %[[Y:.*]] = kiln.ffn %[[N]] up %{{.*}} gate %{{.*}} down %{{.*}} residual %[[H]] activation <silu>
// CHECK-NOT: kiln.add
// CHECK: return %[[Y]]
func.func @pre_norm(%x: tensor<?x?x16xf32>, %a: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  %wo = kiln.param "o" : tensor<16x16xf32>
  %o = kiln.linear %a, %wo : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
  %h = kiln.add %x, %o : tensor<?x?x16xf32>
  %g = kiln.param "g" : tensor<16xf32>
  %n = kiln.rms_norm %h weight %g epsilon 1.0e-6 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %up = kiln.param "up" : tensor<32x16xf32>
  %gate = kiln.param "gate" : tensor<32x16xf32>
  %down = kiln.param "down" : tensor<16x32xf32>
  %f = kiln.ffn %n up %up gate %gate down %down activation <silu>
      : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>) -> tensor<?x?x16xf32>
  %y = kiln.add %f, %h : tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// Post-norm (BERT): the bias stays, the residual joins it.
// CHECK-LABEL: func.func @post_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[A:.*]]: tensor<?x16xf32>)
// CHECK: %[[H:.*]] = kiln.linear %[[A]], %{{.*}} bias %{{.*}} residual %[[X]] : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
// CHECK: kiln.layer_norm %[[H]]
func.func @post_norm(%x: tensor<?x16xf32>, %a: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %w = kiln.param "w" : tensor<16x16xf32>
  %b = kiln.param "b" : tensor<16xf32>
  %o = kiln.linear %a, %w bias %b : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %h = kiln.add %o, %x : tensor<?x16xf32>
  %y = kiln.layer_norm %h epsilon 1.0e-12 : (tensor<?x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Left alone: a projection with another user, an addend computed after
// the projection, two projections added (only one can take the other),
// and a sum of plain values.
// CHECK-LABEL: func.func @unfused
// CHECK: %[[P:.*]] = kiln.linear %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
// CHECK: kiln.add %{{.*}}, %[[P]]
// CHECK: %[[Q:.*]] = kiln.linear %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
// CHECK: %[[L:.*]] = kiln.activation <relu>
// CHECK: kiln.add %[[Q]], %[[L]]
// CHECK: %[[R:.*]] = kiln.linear %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
// CHECK: kiln.linear %{{.*}}, %{{.*}} residual %[[R]] :
// CHECK-NOT: residual
// CHECK: kiln.add %{{.*}}, %{{.*}} : tensor<?x16xf32>
func.func @unfused(%x: tensor<?x16xf32>, %a: tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %w = kiln.param "w" : tensor<16x16xf32>
  %p = kiln.linear %a, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %s = kiln.add %x, %p : tensor<?x16xf32>
  %q = kiln.linear %a, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %later = kiln.activation <relu> %x : tensor<?x16xf32>
  %t = kiln.add %q, %later : tensor<?x16xf32>
  %r = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %u = kiln.linear %a, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %v = kiln.add %r, %u : tensor<?x16xf32>
  %z = kiln.add %x, %a : tensor<?x16xf32>
  return %s, %p, %t, %v, %z : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}
