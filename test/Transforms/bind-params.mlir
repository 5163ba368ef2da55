// RUN: kiln-opt %s --kiln-bind-params --split-input-file --verify-diagnostics | FileCheck %s

// Distinct weights get 64-byte aligned offsets in order of first use; one
// view per weight and function, reused by every use.

// CHECK: module attributes {kiln.weights = [
// CHECK-SAME: {encoding = "", name = "w", offset = 0 : i64, panels = 0 : i64, source = "w", transposed = false, type = tensor<3x5xf32>}
// CHECK-SAME: {encoding = "", name = "b", offset = 64 : i64, panels = 0 : i64, source = "b", transposed = false, type = tensor<5xf16>}
// CHECK-SAME: {encoding = "", name = "w:T", offset = 128 : i64, panels = 0 : i64, source = "w", transposed = true, type = tensor<5x3xf32>}
// CHECK-SAME: {encoding = "", name = "w:P5", offset = 192 : i64, panels = 5 : i64, source = "w", transposed = false, type = tensor<1x3x5xf32>}
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[BUF:.*]]: memref<?xi8> {kiln.weights}, %{{.*}}: tensor<?x5xf32>)
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[VW:.*]] = memref.view %[[BUF]][%[[C0]]][] : memref<?xi8> to memref<3x5xf32>
// CHECK: %[[W:.*]] = bufferization.to_tensor %[[VW]] restrict : memref<3x5xf32> to tensor<3x5xf32>
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: memref.view %[[BUF]][%[[C64]]][] : memref<?xi8> to memref<5xf16>
// CHECK: %[[C128:.*]] = arith.constant 128 : index
// CHECK: memref.view %[[BUF]][%[[C128]]][] : memref<?xi8> to memref<5x3xf32>
// CHECK: %[[C192:.*]] = arith.constant 192 : index
// CHECK: memref.view %[[BUF]][%[[C192]]][] : memref<?xi8> to memref<1x3x5xf32>
// CHECK-NOT: memref.view
// CHECK-NOT: kiln.param
// CHECK: return %[[W]], %[[W]]
func.func @forward(%x: tensor<?x5xf32>) -> (tensor<3x5xf32>, tensor<3x5xf32>, tensor<5xf16>, tensor<5x3xf32>, tensor<1x3x5xf32>) {
  %w = kiln.param "w" : tensor<3x5xf32>
  %b = kiln.param "b" : tensor<5xf16>
  %w2 = kiln.param "w" : tensor<3x5xf32>
  %wt = kiln.param "w" transposed : tensor<5x3xf32>
  %wp = kiln.param "w" panels 5 : tensor<1x3x5xf32>
  return %w, %w2, %b, %wt, %wp : tensor<3x5xf32>, tensor<3x5xf32>, tensor<5xf16>, tensor<5x3xf32>, tensor<1x3x5xf32>
}

// -----

// A public function without params still takes the buffer (uniform ABI).
// CHECK-LABEL: func.func @no_params
// CHECK-SAME: (%{{.*}}: memref<?xi8> {kiln.weights}, %{{.*}}: tensor<4xf32>)
func.func @no_params(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

func.func @conflict() -> (tensor<4xf32>, tensor<8xf32>) {
  %a = kiln.param "w" : tensor<4xf32>
  // expected-error @+1 {{reads weight 'w' as 'tensor<8xf32>', but another use reads it as 'tensor<4xf32>'}}
  %b = kiln.param "w" : tensor<8xf32>
  return %a, %b : tensor<4xf32>, tensor<8xf32>
}

// -----

func.func private @helper() -> tensor<4xf32> {
  // expected-error @+1 {{is in a private or external function; weights can only be read in public functions (entry points)}}
  %a = kiln.param "w" : tensor<4xf32>
  return %a : tensor<4xf32>
}
