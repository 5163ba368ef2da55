// RUN: kiln-opt %s --kiln-quantize --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-quantize="weights=int4 group=32 symmetric=false skip=*lm_head*" --split-input-file | FileCheck %s --check-prefix=INT4

// int8: per output channel (one group spanning K = 64), symmetric.
// CHECK-LABEL: func.func @linear
// CHECK: %[[Q:.*]] = kiln.param "fc.weight" transposed quant <bits = 8, group = 64, symmetric = true> part <values> : tensor<64x16xi8>
// CHECK: %[[S:.*]] = kiln.param "fc.weight" transposed quant <bits = 8, group = 64, symmetric = true> part <scales> : tensor<1x16xf32>
// CHECK: %[[D:.*]] = kiln.dequantize %[[Q]] scales %[[S]] quant <bits = 8, group = 64, symmetric = true> : (tensor<64x16xi8>, tensor<1x16xf32>) -> tensor<64x16xf32>
// CHECK: kiln.linear %{{.*}}, %[[D]] bias %{{.*}} layout <in_out>
// The bias stays f32.
// CHECK-NOT: "fc.bias" {{.*}}quant
// int4 g32 asymmetric: [K / 2, N] bytes, [K / 32, N] scales and zero points.
// INT4-LABEL: func.func @linear
// INT4: %[[Q:.*]] = kiln.param "fc.weight" transposed quant <bits = 4, group = 32, symmetric = false> part <values> : tensor<32x16xi8>
// INT4: %[[S:.*]] = kiln.param "fc.weight" transposed quant <bits = 4, group = 32, symmetric = false> part <scales> : tensor<2x16xf32>
// INT4: %[[Z:.*]] = kiln.param "fc.weight" transposed quant <bits = 4, group = 32, symmetric = false> part <zero_points> : tensor<2x16xf32>
// INT4: %[[D:.*]] = kiln.dequantize %[[Q]] scales %[[S]] zero_points %[[Z]] quant <bits = 4, group = 32, symmetric = false>
// INT4: kiln.linear %{{.*}}, %[[D]] bias
func.func @linear(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  %w = kiln.param "fc.weight" transposed : tensor<64x16xf32>
  %b = kiln.param "fc.bias" : tensor<16xf32>
  %y = kiln.linear %x, %w bias %b layout <in_out> : (tensor<?x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Every weight of an FFN; skipped names and out_in layouts stay f32.
// CHECK-LABEL: func.func @ffn
// CHECK-DAG: %[[U:.*]] = kiln.dequantize {{.*}} -> tensor<32x64xf32>
// CHECK-DAG: %[[G:.*]] = kiln.dequantize {{.*}} -> tensor<32x64xf32>
// CHECK-DAG: %[[D:.*]] = kiln.dequantize {{.*}} -> tensor<64x32xf32>
// CHECK: kiln.ffn %{{.*}} up %[[U]] gate %[[G]] down %[[D]] activation <silu> layout <in_out>
// CHECK: %[[HEAD:.*]] = kiln.dequantize
// CHECK: kiln.linear %{{.*}}, %[[HEAD]] layout <in_out>
// CHECK: kiln.linear %{{.*}}, %{{.*}} : (tensor<?x32xf32>, tensor<8x32xf32>)
// INT4-LABEL: func.func @ffn
// INT4-COUNT-3: kiln.dequantize
// INT4-NOT: kiln.dequantize
// INT4: kiln.param "lm_head.weight" transposed : tensor<32x8xf32>
func.func @ffn(%x: tensor<?x32xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %up = kiln.param "up" transposed : tensor<32x64xf32>
  %gate = kiln.param "gate" transposed : tensor<32x64xf32>
  %down = kiln.param "down" transposed : tensor<64x32xf32>
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu> layout <in_out>
      : (tensor<?x32xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>) -> tensor<?x32xf32>
  %head = kiln.param "lm_head.weight" transposed : tensor<32x8xf32>
  %logits = kiln.linear %y, %head layout <in_out> : (tensor<?x32xf32>, tensor<32x8xf32>) -> tensor<?x8xf32>
  %w = kiln.param "out_in.weight" : tensor<8x32xf32>
  %z = kiln.linear %y, %w : (tensor<?x32xf32>, tensor<8x32xf32>) -> tensor<?x8xf32>
  return %logits, %z : tensor<?x8xf32>, tensor<?x8xf32>
}
