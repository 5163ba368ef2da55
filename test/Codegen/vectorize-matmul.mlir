// RUN: kiln-opt %s --kiln-cpu-vectorize-matmul --canonicalize --loop-invariant-subset-hoisting --split-input-file | FileCheck %s

// One output row by 64 columns per register tile; loops n, m, k; after
// hoisting, the k loop carries the accumulator as a vector and each step
// broadcasts A[m, k] against a 64-wide row of B.

#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @matmul
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C64:.*]] iter_args
// CHECK: scf.for %[[M:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<1x64xf32>
// CHECK: %[[SUM:.*]]:3 = scf.for {{.*}} iter_args({{.*}}, %[[IT:[a-z0-9_]+]] = %[[ACC]]) -> ({{.*}}, vector<1x64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x1xf32>, vector<1x1x64xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<1x1x64xf32>
// CHECK: arith.mulf {{.*}} : vector<1x1x64xf32>
// CHECK: arith.addf %[[IT]], {{.*}} : vector<1x64xf32>
// CHECK: vector.transfer_write %[[SUM]]#2
func.func @matmul(%a: tensor<?x32xf32>, %b: tensor<32x128xf32>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x128xf32>) outs(%c : tensor<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}

// -----

// 40 columns: the widest tile that divides it is 8.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @narrow
// CHECK: vector<1x8xf32>
func.func @narrow(%a: tensor<?x32xf32>, %b: tensor<32x40xf32>, %c: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x40xf32>) outs(%c : tensor<?x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %r : tensor<?x40xf32>
}

// -----

// No supported width divides 37 columns: left to the loop vectorizer.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @odd
// CHECK-NOT: vector.
// CHECK: linalg.generic
func.func @odd(%a: tensor<?x32xf32>, %b: tensor<32x37xf32>, %c: tensor<?x37xf32>) -> tensor<?x37xf32> {
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x37xf32>) outs(%c : tensor<?x37xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x37xf32>
  return %r : tensor<?x37xf32>
}

// -----

// B is a weight: it is read as contiguous [n / 64, k, 64] panels, the
// output through a [m, n / 64, 64] view.
#A = affine_map<(m, k, n) -> (m, k)>
#B = affine_map<(m, k, n) -> (k, n)>
#C = affine_map<(m, k, n) -> (m, n)>
// CHECK-LABEL: func.func @weight_panels
// CHECK: %[[P:.*]] = kiln.param "fc.weight" transposed panels 64 : tensor<2x32x64xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 2, 64] : tensor<?x128xf32> into tensor<?x2x64xf32>
// CHECK: tensor.extract_slice %[[P]][%{{.*}}, %{{.*}}, 0] [1, 1, 64] [1, 1, 1] : tensor<2x32x64xf32> to tensor<1x1x64xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<1x1x64xf32>, vector<1x1x1x64xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<?x2x64xf32> into tensor<?x128xf32>
func.func @weight_panels(%a: tensor<?x32xf32>, %c: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %b = kiln.param "fc.weight" transposed : tensor<32x128xf32>
  %r = linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<?x32xf32>, tensor<32x128xf32>) outs(%c : tensor<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
