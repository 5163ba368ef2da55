// RUN: kiln-opt %s --kiln-remove-padding --split-input-file -verify-diagnostics | FileCheck %s

// Functions the pass cannot run packed as a whole stay padded, with a remark
// naming the op that keeps them so.

// CHECK-LABEL: func.func @other_key_mask
// CHECK-NOT: kiln.pack
func.func @other_key_mask(%x: tensor<?x?x4x8xf32> {kiln.name = "hidden_states"},
                          %mask: tensor<?x?xi64> {kiln.name = "attention_mask"},
                          %other: tensor<?x?xi64> {kiln.name = "other_mask"}) -> tensor<?x?x4x8xf32> {
  // expected-remark @+1 {{kiln-remove-padding keeps 'other_key_mask' padded: its key_mask is not the padding mask}}
  %a = kiln.attention %x, %x, %x key_mask %other heads 4 kv_heads 4 mask <padding>
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  return %a : tensor<?x?x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @bidirectional_without_key_mask
// CHECK-NOT: kiln.pack
func.func @bidirectional_without_key_mask(%x: tensor<?x?x4x8xf32> {kiln.name = "hidden_states"},
                                          %mask: tensor<?x?xi64> {kiln.name = "attention_mask"}) -> tensor<?x?x4x8xf32> {
  // expected-remark @+1 {{it is bidirectional without a key_mask, so its tokens see the padding}}
  %a = kiln.attention %x, %x, %x heads 4 kv_heads 4
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return %a : tensor<?x?x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @block_sparse
// CHECK-NOT: kiln.pack
func.func @block_sparse(%x: tensor<?x?x4x8xf32> {kiln.name = "hidden_states"},
                        %mask: tensor<?x?xi64> {kiln.name = "attention_mask"}) -> tensor<?x?x4x8xf32> {
  // expected-remark @+1 {{block-sparse masks depend on absolute positions}}
  %a = kiln.attention %x, %x, %x key_mask %mask heads 4 kv_heads 4 mask <block_sparse block = 4, local = 1, global = 1>
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  return %a : tensor<?x?x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @recurrent_state
// CHECK-NOT: kiln.pack
func.func @recurrent_state(%x: tensor<?x?x16xf32> {kiln.name = "hidden_states"},
                           %mask: tensor<?x?xi64> {kiln.name = "attention_mask"},
                           %w: tensor<16x4xf32>)
    -> (tensor<?x?x16xf32>, tensor<?x16x3xf32>) {
  // expected-remark @+1 {{it carries a convolution state}}
  %y, %state = kiln.causal_conv1d %x, %w : (tensor<?x?x16xf32>, tensor<16x4xf32>) -> (tensor<?x?x16xf32>, tensor<?x16x3xf32>)
  return %y, %state : tensor<?x?x16xf32>, tensor<?x16x3xf32>
}

// -----

// A token tensor read inside a region: the pass cannot see what it does.

// CHECK-LABEL: func.func @opaque_use
// CHECK-NOT: kiln.pack
func.func @opaque_use(%x: tensor<?x?x8xf32> {kiln.name = "hidden_states"},
                      %mask: tensor<?x?xi64> {kiln.name = "attention_mask"}) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %y = kiln.activation <silu> %x : tensor<?x?x8xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %first = tensor.generate %b, %s {
  ^bb0(%i: index, %j: index):
    // expected-remark @+1 {{it uses a token tensor the pass cannot pack}}
    %v = tensor.extract %y[%i, %j, %c0] : tensor<?x?x8xf32>
    tensor.yield %v : f32
  } : tensor<?x?xf32>
  return %first : tensor<?x?xf32>
}

// -----

// A linalg.generic that reads the position index is not token-wise.

// CHECK-LABEL: func.func @position_generic
// CHECK-NOT: kiln.pack
func.func @position_generic(%x: tensor<?x?x8xf32> {kiln.name = "hidden_states"},
                            %mask: tensor<?x?xi64> {kiln.name = "attention_mask"}) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %s) : tensor<?x?x8xf32>
  // expected-remark @+1 {{it reads the batch or sequence index}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %j = linalg.index 1 : index
    %jf = arith.index_cast %j : index to i64
    %f = arith.sitofp %jf : i64 to f32
    %v = arith.addf %in, %f : f32
    linalg.yield %v : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
