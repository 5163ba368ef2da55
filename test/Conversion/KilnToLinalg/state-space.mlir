// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-lower-to-linalg --split-input-file | FileCheck %s --check-prefix=NOKILN
// NOKILN-NOT: kiln.

// One scf.forall over (batch, channel block) runs the whole scan per task:
// delta = softplus(dt + dt_bias) for the block (threshold 20), then an
// scf.for over time carrying the block's state [1, block, N] and y. The
// state is read from and written back to the forall's shared output, and y
// row t is written straight into the task's slice of the y output (both
// slices taken with the offsets they are inserted back with: no copies).
// CHECK-LABEL: func.func @scan_full(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x6xf32>, %[[DT:[^:]*]]: tensor<?x?x6xf32>, %[[A:[^:]*]]: tensor<6x4xf32>
// CHECK: %[[H0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x6x4xf32>)
// CHECK: %[[SCAN:.*]]:2 = scf.forall (%[[B:.*]], %[[C:.*]]) = (0, 0) to (%{{.*}}, 6) step (1, 6) shared_outs(%[[YS:.*]] = %{{.*}}, %[[HS:.*]] = %[[H0]]) -> (tensor<?x?x6xf32>, tensor<?x6x4xf32>)
// CHECK: %[[XB:.*]] = tensor.extract_slice %[[X]][%[[B]], 0, 0]
// CHECK: %[[XC:.*]] = tensor.extract_slice %[[XB]][0, 0, %[[C]]] [1, %{{.*}}, 6]
// CHECK: %[[AC:.*]] = tensor.extract_slice %[[A]][%[[C]], 0] [6, 4]
// CHECK: %[[YD:.*]] = tensor.extract_slice %[[YS]][%[[B]], 0, %[[C]]] [1, %{{.*}}, 6]
// CHECK: %[[HC:.*]] = tensor.extract_slice %[[HS]][%[[B]], %[[C]], 0] [1, 6, 4]
// CHECK: %[[DELTA:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x?x6xf32>, tensor<6xf32>)
// CHECK: math.exp
// CHECK: math.log1p
// CHECK: arith.cmpf ogt
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[H:.*]] = %[[HC]], %[[Y:.*]] = %[[YD]]) -> (tensor<1x6x4xf32>, tensor<1x?x6xf32>)
// CHECK: %[[XT:.*]] = tensor.extract_slice %[[XC]][0, %[[T]], 0] [1, 1, 6] [1, 1, 1] : tensor<1x?x6xf32> to tensor<1x6xf32>
// CHECK: %[[HN:.*]] = linalg.generic {{.*}} ins(%[[AC]], %[[XT]], %{{.*}}, %{{.*}} : tensor<6x4xf32>, tensor<1x6xf32>, tensor<1x6xf32>, tensor<1x4xf32>) outs(%[[H]] : tensor<1x6x4xf32>)
// CHECK: math.exp
// CHECK: %[[YT:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[HN]], %{{.*}} :
// CHECK: %[[YROW:.*]] = tensor.extract_slice %[[Y]][0, %[[T]], 0] [1, 1, 6]
// CHECK: %[[YO:.*]] = linalg.generic {{.*}} ins(%[[YT]], %[[XT]], %{{.*}}, %{{.*}} : {{.*}}) outs(%[[YROW]] :
// CHECK: %[[YN:.*]] = tensor.insert_slice %[[YO]] into %[[Y]][0, %[[T]], 0] [1, 1, 6] [1, 1, 1]
// CHECK: scf.yield %[[HN]], %[[YN]]
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#1 into %[[YS]][%[[B]], 0, %[[C]]] [1, %{{.*}}, 6]
// CHECK-NEXT: tensor.parallel_insert_slice %[[LOOP]]#0 into %[[HS]][%[[B]], %[[C]], 0] [1, 6, 4]
// CHECK: return %[[SCAN]]#0
func.func @scan_full(%x: tensor<?x?x6xf32>, %dt: tensor<?x?x6xf32>, %a: tensor<6x4xf32>, %b: tensor<?x?x4xf32>, %c: tensor<?x?x4xf32>, %d: tensor<6xf32>, %z: tensor<?x?x6xf32>, %db: tensor<6xf32>) -> tensor<?x?x6xf32> {
  %y = kiln.selective_scan %x, %dt, %a, %b, %c D %d z %z dt_bias %db dt_softplus : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<6x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<6xf32>, tensor<?x?x6xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
  return %y : tensor<?x?x6xf32>
}

// -----

// Packed scan with states: an outer loop over sequences slices the tokens,
// restarts from initial_state[b] (the parallel scan of one sequence) and
// collects the final states.
// CHECK-LABEL: func.func @scan_packed(
// CHECK-SAME: %[[CU:[^:]*]]: tensor<?xi32>, %[[H0:[^:]*]]: tensor<?x6x4xf32>
// CHECK: %[[OUT:.*]]:2 = scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[YA:.*]] = %{{.*}}, %[[SA:.*]] = %{{.*}}) -> (tensor<?x6xf32>, tensor<?x6x4xf32>)
// CHECK: tensor.extract %[[CU]][%[[S]]]
// CHECK: %[[INIT:.*]] = tensor.extract_slice %[[H0]][%[[S]], 0, 0] [1, 6, 4]
// CHECK: %[[INNER:.*]]:2 = scf.forall {{.*}} shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %[[INIT]])
// CHECK: scf.for
// CHECK: %[[FINAL:.*]] = tensor.insert_slice %[[INNER]]#1 into %[[SA]][%[[S]], 0, 0]
// CHECK: scf.yield %{{.*}}, %[[FINAL]]
// CHECK: return %[[OUT]]#0, %[[OUT]]#1
func.func @scan_packed(%x: tensor<?x6xf32>, %dt: tensor<?x6xf32>, %a: tensor<6x4xf32>, %b: tensor<?x4xf32>, %c: tensor<?x4xf32>, %cu: tensor<?xi32>, %h0: tensor<?x6x4xf32>) -> (tensor<?x6xf32>, tensor<?x6x4xf32>) {
  %y, %h = kiln.selective_scan %x, %dt, %a, %b, %c cu_seqlens %cu initial_state %h0 : (tensor<?x6xf32>, tensor<?x6xf32>, tensor<6x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?xi32>, tensor<?x6x4xf32>) -> (tensor<?x6xf32>, tensor<?x6x4xf32>)
  return %y, %h : tensor<?x6xf32>, tensor<?x6x4xf32>
}

// -----

// Causal conv: history (transposed initial_state) and input concatenated,
// one convolution-shaped generic (xe[b, t + k, c] * w[c, k]) starting from
// the bias, the activation, and the last K - 1 rows as the final state.
// CHECK-DAG: #[[$SHIFT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1 + d3, d2)>
// CHECK-LABEL: func.func @conv_states(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x6xf32>, %[[W:[^:]*]]: tensor<6x4xf32>, %[[B:[^:]*]]: tensor<6xf32>, %[[S:[^:]*]]: tensor<?x6x3xf32>
// CHECK: %[[ST:.*]] = linalg.transpose ins(%[[S]] : tensor<?x6x3xf32>) outs(%{{.*}} : tensor<?x3x6xf32>) permutation = [0, 2, 1]
// CHECK: %[[E1:.*]] = tensor.insert_slice %[[ST]] into %{{.*}}[0, 0, 0]
// CHECK: %[[E2:.*]] = tensor.insert_slice %[[X]] into %[[E1]][0, 3, 0]
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<6xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$SHIFT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[E2]], %[[W]] : tensor<?x?x6xf32>, tensor<6x4xf32>) outs(%[[BIAS]] : tensor<?x?x6xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[SUM]] :
// CHECK: math.exp
// CHECK: %[[TAIL:.*]] = tensor.extract_slice %[[E2]][0, %{{.*}}, 0] [%{{.*}}, 3, 6]
// CHECK: %[[FS:.*]] = linalg.transpose ins(%[[TAIL]] : tensor<?x3x6xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: return %[[Y]], %[[FS]]
func.func @conv_states(%x: tensor<?x?x6xf32>, %w: tensor<6x4xf32>, %b: tensor<6xf32>, %s: tensor<?x6x3xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x3xf32>) {
  %y, %f = kiln.causal_conv1d %x, %w bias %b initial_state %s activation <silu> : (tensor<?x?x6xf32>, tensor<6x4xf32>, tensor<6xf32>, tensor<?x6x3xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x3xf32>)
  return %y, %f : tensor<?x?x6xf32>, tensor<?x6x3xf32>
}

// -----

// CHECK-LABEL: func.func @conv_packed(
// CHECK: scf.for
// CHECK: tensor.extract_slice
// CHECK: tensor.expand_shape
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
// CHECK: scf.yield
func.func @conv_packed(%x: tensor<?x6xf32>, %w: tensor<6x4xf32>, %cu: tensor<?xi32>) -> tensor<?x6xf32> {
  %y = kiln.causal_conv1d %x, %w cu_seqlens %cu : (tensor<?x6xf32>, tensor<6x4xf32>, tensor<?xi32>) -> tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}
