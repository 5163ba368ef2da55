// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// A projection reading a kiln.dequantize becomes one generic over
// (m, k, n) that dequantizes each weight element it reads: int4 nibbles are
// picked by the parity of k, scales and zero points by its group.
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 2, d2)>
// CHECK-DAG: #[[$G:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 32, d2)>
// CHECK-LABEL: func.func @int4
// CHECK-NOT: kiln.dequantize
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$Q]], #[[$G]], #[[$G]], {{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<32x16xi8>, tensor<2x16xf32>, tensor<2x16xf32>)
// CHECK-SAME: attrs = {kiln.quant = #kiln.quant<bits = 4, group = 32, symmetric = false>}
// CHECK: linalg.index 1
// CHECK: arith.shrui
// CHECK: arith.uitofp
// CHECK: arith.subf
// CHECK-NOT: tensor<64x16xf32>
func.func @int4(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  %q = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <values> : tensor<32x16xi8>
  %s = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <scales> : tensor<2x16xf32>
  %z = kiln.param "w" transposed quant <bits = 4, group = 32, symmetric = false> part <zero_points> : tensor<2x16xf32>
  %w = kiln.dequantize %q scales %s zero_points %z quant <bits = 4, group = 32, symmetric = false> : (tensor<32x16xi8>, tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<64x16xf32>
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x64xf32>, tensor<64x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Per channel: one group, row 0 of the scales for every k.
// CHECK-DAG: #[[$S:.*]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-LABEL: func.func @int8
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[$S]], #{{.*}}]
// CHECK-SAME: kiln.quant = #kiln.quant<bits = 8, group = 64, symmetric = true>
// CHECK: arith.sitofp
func.func @int8(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  %q = kiln.param "w" transposed quant <bits = 8, group = 64, symmetric = true> part <values> : tensor<64x16xi8>
  %s = kiln.param "w" transposed quant <bits = 8, group = 64, symmetric = true> part <scales> : tensor<1x16xf32>
  %w = kiln.dequantize %q scales %s quant <bits = 8, group = 64, symmetric = true> : (tensor<64x16xi8>, tensor<1x16xf32>) -> tensor<64x16xf32>
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x64xf32>, tensor<64x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

