// RUN: kiln-opt %s --kiln-cpu-approximate-math | FileCheck %s

// erf and tanh (GELU and its tanh form) become plain arithmetic, scalar or
// vector; other math ops are left alone.

// CHECK-LABEL: func.func @gelu_parts
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK: arith.mulf
// CHECK: math.exp
func.func @gelu_parts(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>, f32) {
  %e = math.erf %x : f32
  %t = math.tanh %v : vector<8xf32>
  %x2 = math.exp %x : f32
  return %e, %t, %x2 : f32, vector<8xf32>, f32
}
