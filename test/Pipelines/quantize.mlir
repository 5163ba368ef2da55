// RUN: kiln-opt %s --kiln-cpu-lowering-stage="quantize=int4 quantize-group=32" | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-lowering-stage="quantize=int8 quantize-symmetric=false" | FileCheck %s --check-prefix=INT8
// RUN: kiln-opt %s --kiln-cpu-pipeline="quantize=int4 quantize-group=32" | FileCheck %s --check-prefix=LLVM

// The quantized weight is read as panels of the register tile's width (16)
// and dequantized in registers: vectors of 16 bytes become f32 in the k
// loop. No f32 tensor or buffer of the weight's shape (64x16, or its 1x64x16
// panels) exists at any point.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: 64x16xf32
// CHECK-DAG: memref.view {{.*}} to memref<1x32x16xi8>
// CHECK-DAG: memref.view {{.*}} to memref<1x2x16xf32>
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} : tensor<1x2x16xf32>, vector<8xf32>
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} : tensor<1x32x16xi8>, vector<8xi8>
// CHECK: arith.extui {{.*}} : vector<8xi8> to vector<8xi32>
// CHECK: arith.uitofp {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: vector.fma
// CHECK-NOT: 64x16xf32
// CHECK-NOT: linalg.generic
// CHECK: return

// INT8-LABEL: func.func @forward
// INT8-NOT: 64x16xf32
// INT8-DAG: memref.view {{.*}} to memref<1x64x16xi8>
// INT8-DAG: memref.view {{.*}} to memref<1x1x16xf32>
// INT8: arith.sitofp {{.*}} : vector<8xi8> to vector<8xf32>
// INT8: vector.fma
// INT8-NOT: 64x16xf32

// LLVM-LABEL: llvm.func @forward
// LLVM-NOT: kiln.
// LLVM-NOT: linalg.
// LLVM: llvm.uitofp {{.*}} : vector<8xi32> to vector<8xf32>
// LLVM: llvm.intr.fmuladd
func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  %w = kiln.param "fc.weight" : tensor<16x64xf32>
  %b = kiln.param "fc.bias" : tensor<16xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
