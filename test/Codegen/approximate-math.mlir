// RUN: kiln-opt %s --kiln-cpu-approximate-math | FileCheck %s

// erf, tanh, exp, log and log1p (GELU, its tanh form, softmax, SiLU,
// Mamba's softplus) become plain arithmetic, scalar or vector; sin and cos
// (rope) are left to libm.

// CHECK-LABEL: func.func @activations
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: math.sin
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
func.func @activations(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>, vector<8xf32>, f32) {
  %e = math.erf %x : f32
  %t = math.tanh %v : vector<8xf32>
  %x2 = math.exp %v : vector<8xf32>
  %s = math.sin %x : f32
  return %e, %t, %x2, %s : f32, vector<8xf32>, vector<8xf32>, f32
}

// The softplus of kiln.selective_scan's dt: log1p(exp(x)).
// CHECK-LABEL: func.func @softplus
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: return
func.func @softplus(%v: vector<8xf32>, %x: f32) -> (vector<8xf32>, f32) {
  %e = math.exp %v : vector<8xf32>
  %p = math.log1p %e : vector<8xf32>
  %l = math.log %x : f32
  return %p, %l : vector<8xf32>, f32
}
