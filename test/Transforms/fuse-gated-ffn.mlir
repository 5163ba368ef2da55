// RUN: kiln-opt %s --kiln-fuse-gated-ffn --split-input-file | FileCheck %s

// The gate's rows come first, then up's.
// CHECK-LABEL: func.func @swiglu
// CHECK-DAG: %[[DOWN:.*]] = kiln.param "down" : tensor<16x64xf32>
// CHECK-DAG: %[[GU:.*]] = kiln.param "gate" concat ["up"] : tensor<128x16xf32>
// CHECK: kiln.ffn %{{.*}} up %[[GU]] stacked_gate down %[[DOWN]] activation <silu> : (tensor<?x16xf32>, tensor<128x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
func.func @swiglu(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %up = kiln.param "up" : tensor<64x16xf32>
  %gate = kiln.param "gate" : tensor<64x16xf32>
  %down = kiln.param "down" : tensor<16x64xf32>
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// CHECK-LABEL: func.func @biased
// CHECK-DAG: %[[GU:.*]] = kiln.param "gate" concat ["up"] : tensor<128x16xf32>
// CHECK-DAG: %[[GUB:.*]] = kiln.param "gate.bias" concat ["up.bias"] : tensor<128xf32>
// CHECK: kiln.ffn %{{.*}} up %[[GU]] stacked_gate down %{{.*}} up_bias %[[GUB]] down_bias %{{.*}} activation <gelu>
// CHECK-NOT: gate_bias
func.func @biased(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %up = kiln.param "up" : tensor<64x16xf32>
  %gate = kiln.param "gate" : tensor<64x16xf32>
  %down = kiln.param "down" : tensor<16x64xf32>
  %ub = kiln.param "up.bias" : tensor<64xf32>
  %gb = kiln.param "gate.bias" : tensor<64xf32>
  %db = kiln.param "down.bias" : tensor<16xf32>
  %y = kiln.ffn %x up %up gate %gate down %down up_bias %ub gate_bias %gb down_bias %db activation <gelu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Left alone: an ungated FFN, weights in in_out layout, a gate that is not
// a param, and a bias on up only.
// CHECK-LABEL: func.func @unfused
// CHECK-NOT: stacked_gate
// CHECK-NOT: concat
func.func @unfused(%x: tensor<?x16xf32>, %g: tensor<64x16xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %up = kiln.param "up" : tensor<64x16xf32>
  %gate = kiln.param "gate" : tensor<64x16xf32>
  %down = kiln.param "down" : tensor<16x64xf32>
  %a = kiln.ffn %x up %up down %down activation <gelu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  %upT = kiln.param "upT" : tensor<16x64xf32>
  %gateT = kiln.param "gateT" : tensor<16x64xf32>
  %downT = kiln.param "downT" : tensor<64x16xf32>
  %b = kiln.ffn %x up %upT gate %gateT down %downT activation <silu> layout <in_out>
      : (tensor<?x16xf32>, tensor<16x64xf32>, tensor<16x64xf32>, tensor<64x16xf32>) -> tensor<?x16xf32>
  %c = kiln.ffn %x up %up gate %g down %down activation <silu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  %ub = kiln.param "up.bias" : tensor<64xf32>
  %d = kiln.ffn %x up %up gate %gate down %down up_bias %ub activation <silu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<?x16xf32>
  return %a, %b, %c, %d : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}
