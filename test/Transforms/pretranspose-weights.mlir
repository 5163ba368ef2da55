// RUN: kiln-opt %s --kiln-pretranspose-weights --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @linear
// CHECK: %[[WT:.*]] = kiln.param "fc.weight" transposed : tensor<16x32xf32>
// CHECK: kiln.linear %{{.*}}, %[[WT]] bias %{{.*}} layout <in_out> : (tensor<?x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
func.func @linear(%x: tensor<?x16xf32>) -> tensor<?x32xf32> {
  %w = kiln.param "fc.weight" : tensor<32x16xf32>
  %b = kiln.param "fc.bias" : tensor<32xf32>
  %y = kiln.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Already [in, out], or a weight that is not a param: unchanged.
// CHECK-LABEL: func.func @unchanged
// CHECK: kiln.linear %{{.*}}, %{{.*}} layout <in_out>
// CHECK: kiln.linear %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<32x16xf32>)
// CHECK-NOT: transposed
func.func @unchanged(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %p = kiln.param "conv1d.weight" : tensor<16x32xf32>
  %a = kiln.linear %x, %p layout <in_out> : (tensor<?x16xf32>, tensor<16x32xf32>) -> tensor<?x32xf32>
  %b = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<?x32xf32>
  return %a, %b : tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// CHECK-LABEL: func.func @swiglu
// CHECK-DAG: %[[UP:.*]] = kiln.param "up" transposed : tensor<16x64xf32>
// CHECK-DAG: %[[GATE:.*]] = kiln.param "gate" transposed : tensor<16x64xf32>
// CHECK-DAG: %[[DOWN:.*]] = kiln.param "down" transposed : tensor<64x16xf32>
// CHECK: kiln.ffn %{{.*}} up %[[UP]] gate %[[GATE]] down %[[DOWN]] activation <silu> layout <in_out>
func.func @swiglu(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %up = kiln.param "up" : tensor<64x16xf32>
  %gate = kiln.param "gate" : tensor<64x16xf32>
  %down = kiln.param "down" : tensor<16x64xf32>
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
