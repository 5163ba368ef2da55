// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of every kiln op and of each optional part of its syntax, in
// custom and generic form.

// CHECK-LABEL: func.func @param
// CHECK: kiln.param "model.layers.0.mlp.up_proj.weight" : tensor<64x16xf32>
// CHECK: kiln.param "model.layers.0.mlp.up_proj.weight" transposed : tensor<16x64xf32>
// GENERIC-LABEL: sym_name = "param"
// GENERIC: "kiln.param"() <{name = "model.layers.0.mlp.up_proj.weight"}>
// GENERIC: "kiln.param"() <{name = "model.layers.0.mlp.up_proj.weight", transposed}>
// CHECK: kiln.param "model.layers.0.mlp.up_proj.weight" transposed panels 16 : tensor<4x16x16xf32>
// CHECK: kiln.param "lm_head.weight" transposed panels 24 columns 50 : tensor<3x16x24xf32>
// CHECK: kiln.param "q" concat ["k", "v"] transposed : tensor<16x192xf32>
// GENERIC: "kiln.param"() <{concat = ["k", "v"], name = "q", transposed}>
func.func @param() -> (tensor<64x16xf32>, tensor<16x64xf32>, tensor<4x16x16xf32>, tensor<3x16x24xf32>, tensor<16x192xf32>) {
  %w = kiln.param "model.layers.0.mlp.up_proj.weight" : tensor<64x16xf32>
  %t = kiln.param "model.layers.0.mlp.up_proj.weight" transposed : tensor<16x64xf32>
  %p = kiln.param "model.layers.0.mlp.up_proj.weight" transposed panels 16 : tensor<4x16x16xf32>
  // 50 columns: two whole panels and one zero-padded one.
  %q = kiln.param "lm_head.weight" transposed panels 24 columns 50 : tensor<3x16x24xf32>
  %s = kiln.param "q" concat ["k", "v"] transposed : tensor<16x192xf32>
  return %w, %t, %p, %q, %s : tensor<64x16xf32>, tensor<16x64xf32>, tensor<4x16x16xf32>, tensor<3x16x24xf32>, tensor<16x192xf32>
}

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[T:.*]]: tensor<100x16xf32>, %[[IDS:.*]]: tensor<?x?xi64>)
// CHECK: kiln.embedding %[[T]][%[[IDS]]] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x16xf32>
func.func @embedding(%t: tensor<100x16xf32>, %ids: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x16xf32>
  return %e : tensor<?x?x16xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>, %[[WT:.*]]: tensor<16x32xf32>)
// CHECK: kiln.linear %[[X]], %[[W]] bias %[[B]] : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
// CHECK: kiln.linear %[[X]], %[[W]] : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
// CHECK: kiln.linear %[[X]], %[[WT]] layout <in_out> : (tensor<?x?x16xf32>, tensor<16x32xf32>) -> tensor<?x?x32xf32>
// CHECK: %[[R:.*]] = kiln.linear %[[X]], %[[W]] bias %[[B]] residual %{{.*}} : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
// CHECK: kiln.linear %[[X]], %[[WT]] residual %[[R]] layout <in_out> : (tensor<?x?x16xf32>, tensor<16x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
// GENERIC-LABEL: sym_name = "linear"
// GENERIC: "kiln.linear"(%{{.*}}, %{{.*}}, %{{.*}}) <{layout = #kiln.weight_layout<out_in>, operandSegmentSizes = array<i32: 1, 1, 1, 0>}>
// GENERIC: "kiln.linear"(%{{.*}}, %{{.*}}) <{layout = #kiln.weight_layout<in_out>, operandSegmentSizes = array<i32: 1, 1, 0, 0>}>
// GENERIC: "kiln.linear"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{layout = #kiln.weight_layout<out_in>, operandSegmentSizes = array<i32: 1, 1, 1, 1>}>
func.func @linear(%x: tensor<?x?x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>, %wt: tensor<16x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %0 = kiln.linear %x, %w bias %b : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %1 = kiln.linear %x, %w layout <out_in> : (tensor<?x?x16xf32>, tensor<32x16xf32>) -> tensor<?x?x32xf32>
  %2 = kiln.linear %x, %wt layout <in_out> : (tensor<?x?x16xf32>, tensor<16x32xf32>) -> tensor<?x?x32xf32>
  %3 = kiln.linear %x, %w bias %b residual %2 : (tensor<?x?x16xf32>, tensor<32x16xf32>, tensor<32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  %4 = kiln.linear %x, %wt residual %3 layout <in_out> : (tensor<?x?x16xf32>, tensor<16x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
  return %0, %1, %3, %4 : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @ffn
// CHECK: kiln.ffn %{{.*}} up %{{.*}} down %{{.*}} up_bias %{{.*}} down_bias %{{.*}} activation <gelu> :
// CHECK: kiln.ffn %{{.*}} up %{{.*}} gate %{{.*}} down %{{.*}} activation <silu> :
// CHECK: kiln.ffn %{{.*}} up %{{.*}} down %{{.*}} activation <gelu_tanh> layout <in_out> :
// CHECK: kiln.ffn %{{.*}} up %{{.*}} stacked_gate down %{{.*}} activation <silu> : (tensor<?x?x16xf32>, tensor<128x16xf32>, tensor<16x64xf32>)
// GENERIC-LABEL: sym_name = "ffn"
// CHECK: kiln.ffn %{{.*}} up %{{.*}} down %{{.*}} residual %{{.*}} activation <relu> :
// GENERIC: "kiln.ffn"{{.*}}activation = #kiln.activation<gelu>{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0, 1, 0>
// GENERIC: "kiln.ffn"{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1, 0, 0, 0, 0>, stacked_gate}>
// GENERIC: "kiln.ffn"{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1, 0, 0, 0, 1>
func.func @ffn(%x: tensor<?x?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>,
               %bu: tensor<64xf32>, %bd: tensor<16xf32>, %upT: tensor<16x64xf32>, %downT: tensor<64x16xf32>,
               %gateUp: tensor<128x16xf32>)
    -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
  %0 = kiln.ffn %x up %up down %down up_bias %bu down_bias %bd activation <gelu>
      : (tensor<?x?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %1 = kiln.ffn %x up %up gate %up down %down activation <silu>
      : (tensor<?x?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x?x16xf32>
  %2 = kiln.ffn %x up %upT down %downT activation <gelu_tanh> layout <in_out>
      : (tensor<?x?x16xf32>, tensor<16x64xf32>, tensor<64x16xf32>) -> tensor<?x?x16xf32>
  %3 = kiln.ffn %x up %gateUp stacked_gate down %down activation <silu>
      : (tensor<?x?x16xf32>, tensor<128x16xf32>, tensor<16x64xf32>) -> tensor<?x?x16xf32>
  %4 = kiln.ffn %x up %up down %down residual %3 activation <relu>
      : (tensor<?x?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %0, %1, %2, %4 : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
}

// CHECK-LABEL: func.func @norms
// CHECK: kiln.layer_norm %{{.*}} weight %{{.*}} bias %{{.*}} epsilon 9.9999999999999998E-13 :
// CHECK: kiln.layer_norm %{{.*}} epsilon 1.000000e-05 : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
// CHECK: kiln.rms_norm %{{.*}} weight %{{.*}} epsilon 9.9999999999999995E-7 :
func.func @norms(%x: tensor<?x?x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
  %0 = kiln.layer_norm %x weight %g bias %b epsilon 1.0e-12
      : (tensor<?x?x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %1 = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %2 = kiln.rms_norm %x weight %g epsilon 1.0e-6 : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  return %0, %1, %2 : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
}

// CHECK-LABEL: func.func @rope
// CHECK: kiln.rope %{{.*}} positions %{{.*}} theta 1.000000e+04 : (tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
// CHECK: kiln.rope %{{.*}} positions %{{.*}} theta 5.000000e+05 rotary_dim 4 style <interleaved> : (tensor<?x4x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
func.func @rope(%x: tensor<?x?x4x8xf32>, %pos: tensor<?x?xi64>, %xp: tensor<?x4x8xf32>, %posp: tensor<?xi32>) -> (tensor<?x?x4x8xf32>, tensor<?x4x8xf32>) {
  %0 = kiln.rope %x positions %pos theta 1.0e4 style <half> : (tensor<?x?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  %1 = kiln.rope %xp positions %posp theta 5.0e5 rotary_dim 4 style <interleaved> : (tensor<?x4x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
  return %0, %1 : tensor<?x?x4x8xf32>, tensor<?x4x8xf32>
}

// CHECK-LABEL: func.func @elementwise
// CHECK: kiln.activation <gelu> %{{.*}} : tensor<?x16xf32>
// CHECK: kiln.activation <gelu_tanh>
// CHECK: kiln.activation <silu>
// CHECK: kiln.activation <relu>
// CHECK: kiln.add %{{.*}}, %{{.*}} : tensor<?x16xf32>
// CHECK: kiln.mul %{{.*}}, %{{.*}} : tensor<?x16xf32>
func.func @elementwise(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = kiln.activation <gelu> %x : tensor<?x16xf32>
  %1 = kiln.activation <gelu_tanh> %0 : tensor<?x16xf32>
  %2 = kiln.activation <silu> %1 : tensor<?x16xf32>
  %3 = kiln.activation <relu> %2 : tensor<?x16xf32>
  %4 = kiln.add %3, %x : tensor<?x16xf32>
  %5 = kiln.mul %4, %x : tensor<?x16xf32>
  return %5 : tensor<?x16xf32>
}

// CHECK-LABEL: func.func @heads
// CHECK: kiln.split_heads %{{.*}} heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
// CHECK: kiln.merge_heads %{{.*}} : tensor<?x?x4x8xf32> -> tensor<?x?x32xf32>
func.func @heads(%x: tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  %0 = kiln.split_heads %x heads 4 : tensor<?x?x32xf32> -> tensor<?x?x4x8xf32>
  %1 = kiln.merge_heads %0 : tensor<?x?x4x8xf32> -> tensor<?x?x32xf32>
  return %1 : tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} heads 4 kv_heads 4 :
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} heads 4 kv_heads 2 scale 2.500000e-01 mask <causal> :
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} key_mask %{{.*}} heads 4 kv_heads 1 mask <padding> :
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} heads 4 kv_heads 2 mask <sliding_window 128> softmax <clipped zeta = 1.003000e+00, gamma = -3.000000e-03> :
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} heads 4 kv_heads 4 mask <block_sparse block = 64, local = 3, global = 1> :
// GENERIC-LABEL: sym_name = "attention"
// GENERIC: mask = #kiln.mask<none>
// GENERIC-SAME: softmax = #kiln.softmax<standard>
func.func @attention(%q: tensor<?x?x4x8xf32>, %kv: tensor<?x?x2x8xf32>, %kv1: tensor<?x?x1x8xf32>, %k4: tensor<?x?x4x8xf32>, %m: tensor<?x?xi64>) {
  %0 = kiln.attention %q, %k4, %k4 heads 4 kv_heads 4
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  %1 = kiln.attention %q, %kv, %kv heads 4 kv_heads 2 scale 0.25 mask <causal>
      : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  %2 = kiln.attention %q, %kv1, %kv1 key_mask %m heads 4 kv_heads 1 mask <padding>
      : (tensor<?x?x4x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?x1x8xf32>, tensor<?x?xi64>) -> tensor<?x?x4x8xf32>
  %3 = kiln.attention %q, %kv, %kv heads 4 kv_heads 2 mask <sliding_window 128> softmax <clipped zeta = 1.003, gamma = -0.003>
      : (tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  %4 = kiln.attention %q, %k4, %k4 heads 4 kv_heads 4 mask <block_sparse block = 64, local = 3, global = 1>
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// CHECK-LABEL: func.func @attention_varlen_and_cache
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} cu_seqlens %{{.*}} heads 4 kv_heads 2 mask <causal> : (tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<?x2x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} cache(%{{.*}}, %{{.*}}) positions %{{.*}} heads 4 kv_heads 2 mask <causal> : ({{.*}}) -> (tensor<?x1x4x8xf32>, tensor<?x512x2x8xf32>, tensor<?x512x2x8xf32>)
// GENERIC-LABEL: sym_name = "attention_varlen_and_cache"
// GENERIC: operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0>
// GENERIC: operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 1, 1>
func.func @attention_varlen_and_cache(%q: tensor<?x4x8xf32>, %k: tensor<?x2x8xf32>, %cu: tensor<?xi32>,
    %qd: tensor<?x1x4x8xf32>, %kd: tensor<?x1x2x8xf32>, %kc: tensor<?x512x2x8xf32>, %vc: tensor<?x512x2x8xf32>, %pos: tensor<?xi64>) {
  %0 = kiln.attention %q, %k, %k cu_seqlens %cu heads 4 kv_heads 2 mask <causal>
      : (tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<?x2x8xf32>, tensor<?xi32>) -> tensor<?x4x8xf32>
  %1:3 = kiln.attention %qd, %kd, %kd cache(%kc, %vc) positions %pos heads 4 kv_heads 2 mask <causal>
      : (tensor<?x1x4x8xf32>, tensor<?x1x2x8xf32>, tensor<?x1x2x8xf32>, tensor<?x512x2x8xf32>, tensor<?x512x2x8xf32>, tensor<?xi64>)
        -> (tensor<?x1x4x8xf32>, tensor<?x512x2x8xf32>, tensor<?x512x2x8xf32>)
  return
}

// CHECK-LABEL: func.func @mamba
// CHECK: kiln.causal_conv1d %{{.*}}, %{{.*}} bias %{{.*}} activation <silu> : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
// CHECK: kiln.causal_conv1d %{{.*}}, %{{.*}} initial_state %{{.*}} : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
// CHECK: kiln.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D %{{.*}} z %{{.*}} dt_bias %{{.*}} dt_softplus :
// CHECK: kiln.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} initial_state %{{.*}} : ({{.*}}) -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>)
// GENERIC-LABEL: sym_name = "mamba"
// GENERIC: "kiln.selective_scan"{{.*}}dt_softplus
func.func @mamba(%x: tensor<?x?x32xf32>, %w: tensor<32x4xf32>, %b: tensor<32xf32>, %cs: tensor<?x32x3xf32>,
                 %A: tensor<32x16xf32>, %B: tensor<?x?x16xf32>, %st: tensor<?x32x16xf32>) {
  %0 = kiln.causal_conv1d %x, %w bias %b activation <silu>
      : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %1:2 = kiln.causal_conv1d %x, %w initial_state %cs
      : (tensor<?x?x32xf32>, tensor<32x4xf32>, tensor<?x32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
  %2 = kiln.selective_scan %x, %x, %A, %B, %B D %b z %x dt_bias %b dt_softplus
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>,
         tensor<32xf32>, tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %3:2 = kiln.selective_scan %x, %x, %A, %B, %B initial_state %st
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x32x16xf32>)
        -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>)
  return
}

// CHECK-LABEL: func.func @mamba_packed
// CHECK: kiln.causal_conv1d %{{.*}}, %{{.*}} cu_seqlens %{{.*}} : (tensor<?x32xf32>, tensor<32x4xf32>, tensor<?xi32>) -> tensor<?x32xf32>
// CHECK: kiln.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} cu_seqlens %{{.*}} : ({{.*}}) -> (tensor<?x32xf32>, tensor<?x32x16xf32>)
func.func @mamba_packed(%x: tensor<?x32xf32>, %w: tensor<32x4xf32>, %cu: tensor<?xi32>, %A: tensor<32x16xf32>, %B: tensor<?x16xf32>) {
  %0 = kiln.causal_conv1d %x, %w cu_seqlens %cu : (tensor<?x32xf32>, tensor<32x4xf32>, tensor<?xi32>) -> tensor<?x32xf32>
  %1:2 = kiln.selective_scan %x, %x, %A, %B, %B cu_seqlens %cu
      : (tensor<?x32xf32>, tensor<?x32xf32>, tensor<32x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?xi32>)
        -> (tensor<?x32xf32>, tensor<?x32x16xf32>)
  return
}

// CHECK-LABEL: func.func @packing
// CHECK: %[[P:.*]], %[[CU:.*]] = kiln.pack %{{.*}} lengths %{{.*}} : (tensor<?x?x16xf32>, tensor<?xi32>) -> (tensor<?x16xf32>, tensor<?xi32>)
// CHECK: kiln.pack %{{.*}} lengths %{{.*}} side <left> : (tensor<?x?xi64>, tensor<?xi32>) -> (tensor<?xi64>, tensor<?xi32>)
// CHECK: kiln.unpack %[[P]] cu_seqlens %[[CU]] seq_len %{{.*}} : (tensor<?x16xf32>, tensor<?xi32>, index) -> tensor<?x?x16xf32>
// CHECK: kiln.unpack %[[P]] cu_seqlens %[[CU]] seq_len %{{.*}} side <left>
func.func @packing(%x: tensor<?x?x16xf32>, %ids: tensor<?x?xi64>, %len: tensor<?xi32>, %s: index) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x16xf32>, tensor<?xi32>) -> (tensor<?x16xf32>, tensor<?xi32>)
  %pi, %cui = kiln.pack %ids lengths %len side <left> : (tensor<?x?xi64>, tensor<?xi32>) -> (tensor<?xi64>, tensor<?xi32>)
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x16xf32>, tensor<?xi32>, index) -> tensor<?x?x16xf32>
  %ul = kiln.unpack %p cu_seqlens %cu seq_len %s side <left> : (tensor<?x16xf32>, tensor<?xi32>, index) -> tensor<?x?x16xf32>
  return
}
