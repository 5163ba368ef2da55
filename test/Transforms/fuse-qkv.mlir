// RUN: kiln-opt %s --kiln-fuse-qkv --split-input-file | FileCheck %s

// Q, K and V (GQA-sized K/V) stack in order of appearance, at the first.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[W:.*]] = kiln.param "q.weight" concat ["k.weight", "v.weight"] : tensor<128x64xf32>
// CHECK: %[[QKV:.*]] = kiln.linear %[[X]], %[[W]] : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
// CHECK: %[[B:.*]] = tensor.dim %[[QKV]], %[[C0]]
// CHECK: %[[S:.*]] = tensor.dim %[[QKV]], %[[C1]]
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[QKV]][0, 0, 0] [%[[B]], %[[S]], 64] [1, 1, 1] : tensor<?x?x128xf32> to tensor<?x?x64xf32>
// CHECK: %[[K:.*]] = tensor.extract_slice %[[QKV]][0, 0, 64] [%[[B]], %[[S]], 32] [1, 1, 1] : tensor<?x?x128xf32> to tensor<?x?x32xf32>
// CHECK: %[[V:.*]] = tensor.extract_slice %[[QKV]][0, 0, 96] [%[[B]], %[[S]], 32] [1, 1, 1] : tensor<?x?x128xf32> to tensor<?x?x32xf32>
// CHECK-NOT: kiln.linear
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wq = kiln.param "q.weight" : tensor<64x64xf32>
  %q = kiln.linear %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %wk = kiln.param "k.weight" : tensor<32x64xf32>
  %k = kiln.linear %x, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %wv = kiln.param "v.weight" : tensor<32x64xf32>
  %v = kiln.linear %x, %wv : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// Biases stack alongside the weights (BERT).
// CHECK-LABEL: func.func @biased
// CHECK-DAG: %[[W:.*]] = kiln.param "q.weight" concat ["k.weight"] : tensor<32x16xf32>
// CHECK-DAG: %[[B:.*]] = kiln.param "q.bias" concat ["k.bias"] : tensor<32xf32>
// CHECK: kiln.linear %{{.*}}, %[[W]] bias %[[B]] : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x32xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 16] [1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 16] [%{{.*}}, 16] [1, 1]
func.func @biased(%x: tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %wq = kiln.param "q.weight" : tensor<16x16xf32>
  %bq = kiln.param "q.bias" : tensor<16xf32>
  %wk = kiln.param "k.weight" : tensor<16x16xf32>
  %bk = kiln.param "k.bias" : tensor<16xf32>
  %q = kiln.linear %x, %wq bias %bq : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %k = kiln.linear %x, %wk bias %bk : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %q, %k : tensor<?x16xf32>, tensor<?x16xf32>
}

// -----

// Left alone: a lone projection, projections of different inputs, one with
// and one without a bias, an in_out weight, a weight that is not a param,
// and a param already read transposed.
// CHECK-LABEL: func.func @unfused
// CHECK-NOT: concat
// CHECK-COUNT-8: kiln.linear
// CHECK-NOT: concat
func.func @unfused(%x: tensor<?x16xf32>, %y: tensor<?x16xf32>, %w: tensor<16x16xf32>)
    -> (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>,
        tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
  %wa = kiln.param "a" : tensor<16x16xf32>
  %wb = kiln.param "b" : tensor<16x16xf32>
  %bb = kiln.param "b.bias" : tensor<16xf32>
  %a = kiln.linear %x, %wa : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %b = kiln.linear %x, %wb bias %bb : (tensor<?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %c = kiln.linear %y, %wa : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %wd = kiln.param "d" : tensor<16x16xf32>
  %d = kiln.linear %y, %wd layout <in_out> : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %e = kiln.linear %y, %w : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %z = kiln.activation <gelu> %x : tensor<?x16xf32>
  %wf = kiln.param "f" transposed : tensor<16x16xf32>
  %f = kiln.linear %z, %wf : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
  %wg = kiln.param "g" : tensor<8x16xf32>
  %g = kiln.linear %z, %wg : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %u = kiln.param "u" : tensor<16x8xf32>
  %h = kiln.linear %g, %u : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  %i = kiln.activation <relu> %h : tensor<?x16xf32>
  return %a, %b, %c, %d, %e, %f, %i, %h : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}
