// RUN: kiln-opt %s --kiln-lower-contiguous-expand-shape --split-input-file | FileCheck %s
// The rewritten IR must also survive expand-strided-metadata, which crashes
// on the original expand_shape in MLIR 22.1.
// RUN: kiln-opt %s --kiln-lower-contiguous-expand-shape --expand-strided-metadata --split-input-file | FileCheck %s --check-prefix=EXPANDED

// CHECK-LABEL: func.func @two_dynamic_sizes
// CHECK-SAME: (%[[M:.*]]: memref<?x64xf32>, %[[B:.*]]: index, %[[S:.*]]: index)
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[STRIDE:.*]] = arith.muli %[[S]], %[[C64]] : index
// CHECK: memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[S]], 64], strides: [%[[STRIDE]], 64, 1] : memref<?x64xf32> to memref<?x?x64xf32>
// CHECK-NOT: memref.expand_shape
// EXPANDED-LABEL: func.func @two_dynamic_sizes
// EXPANDED: memref.reinterpret_cast
func.func @two_dynamic_sizes(%m: memref<?x64xf32>, %b: index, %s: index) -> memref<?x?x64xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %s, 64] : memref<?x64xf32> into memref<?x?x64xf32>
  return %e : memref<?x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @static
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [2, 3, 4], strides: [12, 4, 1] : memref<6x4xf32> to memref<2x3x4xf32>
func.func @static(%m: memref<6x4xf32>) -> memref<2x3x4xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [2, 3, 4] : memref<6x4xf32> into memref<2x3x4xf32>
  return %e : memref<2x3x4xf32>
}

// -----

// A strided source is not dense: left alone.
// CHECK-LABEL: func.func @strided_source
// CHECK: memref.expand_shape
func.func @strided_source(%m: memref<6x4xf32, strided<[8, 1]>>) -> memref<2x3x4xf32, strided<[24, 8, 1]>> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [2, 3, 4] : memref<6x4xf32, strided<[8, 1]>> into memref<2x3x4xf32, strided<[24, 8, 1]>>
  return %e : memref<2x3x4xf32, strided<[24, 8, 1]>>
}
