// RUN: kiln-opt %s --kiln-cpu-approximate-math | FileCheck %s

// erf, tanh and exp (GELU, its tanh form, softmax, SiLU) become plain
// arithmetic, scalar or vector; sin and cos (rope) are left to libm.

// CHECK-LABEL: func.func @activations
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: arith.mulf
// CHECK: math.sin
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
func.func @activations(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>, vector<8xf32>, f32) {
  %e = math.erf %x : f32
  %t = math.tanh %v : vector<8xf32>
  %x2 = math.exp %v : vector<8xf32>
  %s = math.sin %x : f32
  return %e, %t, %x2, %s : f32, vector<8xf32>, vector<8xf32>, f32
}
