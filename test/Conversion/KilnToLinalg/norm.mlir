// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s

// Two row reductions (sum, then squared deviations) and one normalizing pass.
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x768xf32>, %[[G:.*]]: tensor<768xf32>, %[[B:.*]]: tensor<768xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]] : tensor<?x?x768xf32>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[SUM]] : tensor<?x?x768xf32>, tensor<?x?xf32>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[SUM]], %[[SQ]], %[[G]], %[[B]] :
// CHECK: math.rsqrt
func.func @layer_norm(%x: tensor<?x?x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>) -> tensor<?x?x768xf32> {
  %y = kiln.layer_norm %x weight %g bias %b epsilon 1.0e-12 : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
  return %y : tensor<?x?x768xf32>
}

// -----

// Half-precision inputs accumulate in f32 and are truncated at the end.
// CHECK-LABEL: func.func @rms_norm_f16(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x64xf16>, %[[G:.*]]: tensor<64xf16>
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x?x64xf16>) outs(%{{.*}} : tensor<?x?xf32>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[SQ]], %[[G]] : tensor<?x?x64xf16>, tensor<?x?xf32>, tensor<64xf16>) outs(%{{.*}} : tensor<?x?x64xf16>)
// CHECK: math.rsqrt %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @rms_norm_f16(%x: tensor<?x?x64xf16>, %g: tensor<64xf16>) -> tensor<?x?x64xf16> {
  %y = kiln.rms_norm %x weight %g epsilon 1.0e-06 : (tensor<?x?x64xf16>, tensor<64xf16>) -> tensor<?x?x64xf16>
  return %y : tensor<?x?x64xf16>
}

// -----

// inv_freq is a constant of rotary_dim / 2 entries; each element reads its
// rotation partner and passes through beyond rotary_dim.
// CHECK-LABEL: func.func @rope_partial(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x4x8xf32>, %[[P:.*]]: tensor<?x?xi64>
// CHECK: %[[FREQ:.*]] = arith.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[P]] : tensor<?x?x4x8xf32>, tensor<?x?xi64>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[POS:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[D:.*]] = linalg.index 3 : index
// CHECK: %[[ROT:.*]] = arith.cmpi ult, %[[D]], %{{.*}} : index
// CHECK: %[[OTHER:.*]] = tensor.extract %[[X]]
// CHECK: %[[F:.*]] = arith.sitofp %[[POS]] : i64 to f32
// CHECK: %[[INV:.*]] = tensor.extract %[[FREQ]]
// CHECK: %[[ANGLE:.*]] = arith.mulf %[[F]], %[[INV]]
// CHECK: math.cos %[[ANGLE]]
// CHECK: math.sin %[[ANGLE]]
// CHECK: %[[OUT:.*]] = arith.select %[[ROT]], %{{.*}}, %[[IN]] : f32
// CHECK: linalg.yield %[[OUT]]
func.func @rope_partial(%x: tensor<?x?x4x8xf32>, %p: tensor<?x?xi64>) -> tensor<?x?x4x8xf32> {
  %y = kiln.rope %x positions %p theta 1.0e+04 rotary_dim 4 : (tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  return %y : tensor<?x?x4x8xf32>
}

// -----

// Interleaved pairs: the partner index is d xor 1.
// CHECK-LABEL: func.func @rope_interleaved_packed(
// CHECK-SAME: %[[X:.*]]: tensor<?x2x8xf32>, %[[P:.*]]: tensor<?xi32>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[P]] : tensor<?x2x8xf32>, tensor<?xi32>)
// CHECK: arith.xori
// CHECK: math.cos
func.func @rope_interleaved_packed(%x: tensor<?x2x8xf32>, %p: tensor<?xi32>) -> tensor<?x2x8xf32> {
  %y = kiln.rope %x positions %p theta 1.0e+04 style <interleaved> : (tensor<?x2x8xf32>, tensor<?xi32>) -> tensor<?x2x8xf32>
  return %y : tensor<?x2x8xf32>
}
