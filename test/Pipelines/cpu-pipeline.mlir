// RUN: kiln-opt %s --kiln-cpu-pipeline | FileCheck %s
// RUN: kiln-opt %s --kiln-cpu-pipeline="parallel=false" | FileCheck %s --check-prefix=SERIAL

// The whole CPU pipeline: only the LLVM dialect is left; the entry takes the
// weights buffer first, allocates through the arena hooks, and runs row
// blocks in OpenMP parallel regions unless parallel=false.

// CHECK: llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
// CHECK-LABEL: llvm.func @forward
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK-NOT: kiln.
// CHECK-NOT: linalg.
// CHECK-NOT: scf.
// SERIAL-LABEL: llvm.func @forward
// SERIAL-NOT: omp.
func.func @forward(%x: tensor<?x?x16xf32>) -> tensor<?x?x32xf32> {
  %w = kiln.param "fc.weight" : tensor<32x16xf32>
  %b = kiln.param "fc.bias" : tensor<32xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %z = kiln.activation <gelu> %y : tensor<?x?x32xf32>
  return %z : tensor<?x?x32xf32>
}
