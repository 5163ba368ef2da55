// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of every kiln op. Each expected diagnostic
// names the operand at fault and the shape or value it expected.

func.func @param_empty_name() {
  // expected-error @+1 {{'kiln.param' op needs a non-empty parameter name}}
  %w = kiln.param "" : tensor<4xf32>
  return
}

// -----

func.func @param_dynamic() {
  // expected-error @+1 {{result #0 must be statically shaped tensor}}
  %w = kiln.param "w" : tensor<?xf32>
  return
}

// -----

func.func @embedding_table_rank(%t: tensor<100xf32>, %ids: tensor<?xi64>) {
  // expected-error @+1 {{table must have rank 2 ([vocab, hidden]), got [100]}}
  %e = kiln.embedding %t[%ids] : tensor<100xf32>, tensor<?xi64> -> tensor<?x16xf32>
  return
}

// -----

func.func @embedding_result_shape(%t: tensor<100x16xf32>, %ids: tensor<?x?xi64>) {
  // expected-error @+1 {{result has shape [?, ?, 32] but expected [?, ?, 16] (ids shape followed by the table's hidden size)}}
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @embedding_result_element_type(%t: tensor<100x16xf32>, %ids: tensor<?xi64>) {
  // expected-error @+1 {{result has element type 'f16' but expected 'f32' (that of table)}}
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?xi64> -> tensor<?x16xf16>
  return
}

// -----

func.func @embedding_float_ids(%t: tensor<100x16xf32>, %ids: tensor<?xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of signless integer values}}
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<?x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([out, in]), got [16]}}
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{input must have rank >= 1, got a scalar tensor}}
  %y = kiln.linear %x, %w : (tensor<f32>, tensor<8x16xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<?x12xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{input has shape [?, 12] but expected [?, 16] (last dim = the weight's input features)}}
  %y = kiln.linear %x, %w : (tensor<?x12xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_in_features_in_out(%x: tensor<?x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{input has shape [?, 8] but expected [?, 16] (last dim = the weight's input features)}}
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias has shape [16] but expected [8] (the weight's output features)}}
  %y = kiln.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result has shape [?, 16] but expected [?, 8] (input with the last dim = output features)}}
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @linear_weight_element_type(%x: tensor<?x16xf32>, %w: tensor<8x16xf16>) {
  // expected-error @+1 {{weight has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf16>) -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_result_element_type(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result has element type 'bf16' but expected 'f32' (that of input)}}
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xbf16>
  return
}

// -----

func.func @linear_bias_element_type(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{bias has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<8xf16>) -> tensor<?x8xf32>
  return
}

// -----

func.func @ffn_up_rank(%x: tensor<?x16xf32>, %up: tensor<64xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{up weight must have rank 2 ([inter, hidden]), got [64]}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_down_rank(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16xf32>) {
  // expected-error @+1 {{down weight must have rank 2 ([hidden, inter]), got [16]}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_scalar_input(%x: tensor<f32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{input must have rank >= 1, got a scalar tensor}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<f32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<f32>
  return
}

// -----

func.func @ffn_up_hidden(%x: tensor<?x16xf32>, %up: tensor<64x8xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{up weight has shape [64, 8] but expected [64, 16] (hidden = the input's last dim)}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x8xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_gate_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %gate: tensor<32x16xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{gate weight has shape [32, 16] but expected [64, 16] (same as the up weight)}}
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<32x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_down_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x32xf32>) {
  // expected-error @+1 {{down weight has shape [16, 32] but expected [16, 64] (the transpose of the up weight)}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_down_shape_in_out(%x: tensor<?x16xf32>, %up: tensor<16x64xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{down weight has shape [16, 64] but expected [64, 16] (the transpose of the up weight)}}
  %y = kiln.ffn %x up %up down %down activation <gelu> layout <in_out> : (tensor<?x16xf32>, tensor<16x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_up_bias(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{up bias has shape [16] but expected [64] (the intermediate size)}}
  %y = kiln.ffn %x up %up down %down up_bias %b activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_gate_bias_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{gate bias has shape [16] but expected [64] (the intermediate size)}}
  %y = kiln.ffn %x up %up gate %up down %down gate_bias %b activation <silu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_down_bias(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{down bias has shape [64] but expected [16] (the hidden size)}}
  %y = kiln.ffn %x up %up down %down down_bias %b activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_result_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{result has shape [?, 64] but expected [?, 16] (the input's shape)}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @ffn_gate_bias_without_gate(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{has a gate bias but no gate weight}}
  %y = kiln.ffn %x up %up down %down gate_bias %b activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_element_type(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xbf16>) {
  // expected-error @+1 {{down weight has element type 'bf16' but expected 'f32' (that of input)}}
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xbf16>) -> tensor<?x16xf32>
  return
}

// -----

func.func @layer_norm_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1, got a scalar tensor}}
  %y = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{epsilon must be >= 0, got -1}}
  %y = kiln.layer_norm %x epsilon -1.0 : (tensor<?x16xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @layer_norm_weight(%x: tensor<?x16xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{weight has shape [8] but expected [16] (the input's last dim)}}
  %y = kiln.layer_norm %x weight %g epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<8xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<?x16xf32>, %b: tensor<16x1xf32>) {
  // expected-error @+1 {{bias has shape [16, 1] but expected [16] (the input's last dim)}}
  %y = kiln.layer_norm %x bias %b epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<16x1xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @layer_norm_result(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{result has shape [?, 8] but expected [?, 16] (the input's shape)}}
  %y = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<?x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @layer_norm_result_type(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{result has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<?x16xf32>) -> tensor<?x16xf16>
  return
}

// -----

func.func @layer_norm_weight_type(%x: tensor<?x16xf32>, %g: tensor<16xf16>) {
  // expected-error @+1 {{weight has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.layer_norm %x weight %g epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<16xf16>) -> tensor<?x16xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<?x?x16xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op weight has shape [32] but expected [16] (the input's last dim)}}
  %y = kiln.rms_norm %x weight %g epsilon 1.0e-6 : (tensor<?x?x16xf32>, tensor<32xf32>) -> tensor<?x?x16xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<?x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{input must be [batch, seq, heads, head_dim] or packed [tokens, heads, head_dim], got [?, 8]}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x8xf32>, tensor<?xi64>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rope_positions(%x: tensor<2x?x4x8xf32>, %p: tensor<3x?xi64>) {
  // expected-error @+1 {{positions has shape [3, ?] but expected [2, ?] ([batch, seq] of the input)}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<2x?x4x8xf32>, tensor<3x?xi64>) -> tensor<2x?x4x8xf32>
  return
}

// -----

func.func @rope_positions_packed(%x: tensor<?x4x8xf32>, %p: tensor<?x?xi64>) {
  // expected-error @+1 {{positions has shape [?, ?] but expected [?] ([tokens] of the packed input)}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @rope_result(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{result has shape [?, 4, 4] but expected [?, 4, 8] (the input's shape)}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x4xf32>
  return
}

// -----

func.func @rope_result_type(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{result has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf16>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{theta must be positive, got 0}}
  %y = kiln.rope %x positions %p theta 0.0 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @rope_dynamic_head_dim(%x: tensor<?x4x?xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{needs a static head_dim}}
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x?xf32>, tensor<?xi64>) -> tensor<?x4x?xf32>
  return
}

// -----

func.func @rope_rotary_dim_odd(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{rotary_dim must be even and in (0, head_dim = 8], got 3}}
  %y = kiln.rope %x positions %p theta 1.0e4 rotary_dim 3 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @rope_rotary_dim_large(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{rotary_dim must be even and in (0, head_dim = 8], got 16}}
  %y = kiln.rope %x positions %p theta 1.0e4 rotary_dim 16 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}

// -----

func.func @activation_type(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %y = "kiln.activation"(%x) <{kind = #kiln.activation<gelu>}> : (tensor<?x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @activation_unknown(%x: tensor<?x16xf32>) {
  // expected-error @+2 {{expected ::mlir::kiln::Activation to be one of: identity, gelu, gelu_tanh, silu, relu}}
  // expected-error @+1 {{failed to parse Kiln_ActivationAttr parameter 'value'}}
  %y = kiln.activation <swish> %x : tensor<?x16xf32>
  return
}

// -----

func.func @add_types(%x: tensor<?x16xf32>, %y: tensor<?x8xf32>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %z = "kiln.add"(%x, %y) : (tensor<?x16xf32>, tensor<?x8xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @mul_integer(%x: tensor<?x16xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %z = kiln.mul %x, %x : tensor<?x16xi32>
  return
}

// -----

func.func @split_heads_count(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{num_heads must be positive, got 0}}
  %y = kiln.split_heads %x heads 0 : tensor<?x16xf32> -> tensor<?x0x16xf32>
  return
}

// -----

func.func @split_heads_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1, got a scalar tensor}}
  %y = kiln.split_heads %x heads 2 : tensor<f32> -> tensor<2xf32>
  return
}

// -----

func.func @split_heads_dynamic(%x: tensor<?x?xf32>) {
  // expected-error @+1 {{needs a static last dim to split}}
  %y = kiln.split_heads %x heads 2 : tensor<?x?xf32> -> tensor<?x2x?xf32>
  return
}

// -----

func.func @split_heads_divisible(%x: tensor<?x10xf32>) {
  // expected-error @+1 {{last dim 10 is not divisible by num_heads = 4}}
  %y = kiln.split_heads %x heads 4 : tensor<?x10xf32> -> tensor<?x4x2xf32>
  return
}

// -----

func.func @split_heads_result(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{result has shape [?, 4, 8] but expected [?, 4, 4] ([..., heads, last_dim / heads])}}
  %y = kiln.split_heads %x heads 4 : tensor<?x16xf32> -> tensor<?x4x8xf32>
  return
}

// -----

func.func @split_heads_type(%x: tensor<?x16xf32>) {
  // expected-error @+1 {{result has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.split_heads %x heads 4 : tensor<?x16xf32> -> tensor<?x4x4xf16>
  return
}

// -----

func.func @merge_heads_rank(%x: tensor<16xf32>) {
  // expected-error @+1 {{input must have rank >= 2 ([..., heads, head_dim]), got [16]}}
  %y = kiln.merge_heads %x : tensor<16xf32> -> tensor<16xf32>
  return
}

// -----

func.func @merge_heads_result(%x: tensor<?x4x8xf32>) {
  // expected-error @+1 {{result has shape [?, 16] but expected [?, 32] ([..., heads * head_dim])}}
  %y = kiln.merge_heads %x : tensor<?x4x8xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @merge_heads_type(%x: tensor<?x4x8xf32>) {
  // expected-error @+1 {{result has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.merge_heads %x : tensor<?x4x8xf32> -> tensor<?x32xf16>
  return
}

// -----

func.func @param_transposed_rank() {
  // expected-error @+1 {{can only transpose a 2-D weight, got [4, 4, 4]}}
  %w = kiln.param "w" transposed : tensor<4x4x4xf32>
  return
}

// -----

func.func @param_panels_shape() {
  // expected-error @+1 {{with panels 64 must have type [ceil(columns / 64), rows, 64], got [4, 32, 32]}}
  %w = kiln.param "w" transposed panels 64 : tensor<4x32x32xf32>
  return
}

// -----

func.func @param_panels_rank() {
  // expected-error @+1 {{with panels 24 must have type [ceil(columns / 24), rows, 24], got [32, 50]}}
  %w = kiln.param "w" transposed panels 24 : tensor<32x50xf32>
  return
}

// -----

func.func @param_columns_without_panels() {
  // expected-error @+1 {{`columns` needs `panels`}}
  %w = kiln.param "w" transposed columns 50 : tensor<32x50xf32>
  return
}

// -----

func.func @param_columns_panel_count() {
  // expected-error @+1 {{with panels 24 and columns 50 must have 3 panels, the last one partial (columns that fill whole panels need no `columns`), got [2, 32, 24]}}
  %w = kiln.param "w" transposed panels 24 columns 50 : tensor<2x32x24xf32>
  return
}

// -----

func.func @param_columns_whole_panels() {
  // expected-error @+1 {{with panels 24 and columns 48 must have 2 panels, the last one partial}}
  %w = kiln.param "w" transposed panels 24 columns 48 : tensor<2x32x24xf32>
  return
}

// -----

func.func @param_panels_positive() {
  // expected-error @+1 {{attribute 'panels' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %w = kiln.param "w" panels 0 : tensor<4x32x0xf32>
  return
}

// -----

func.func @param_quant_without_part() {
  // expected-error @+1 {{'kiln.param' op needs both `quant` and `part`, or neither}}
  %q = kiln.param "w" quant <bits = 8, group = 4, symmetric = true> : tensor<4x4xi8>
  return
}

// -----

func.func @param_quant_values_type() {
  // expected-error @+1 {{'kiln.param' op reads the values of a quantized weight, which are i8, got 'f32'}}
  %q = kiln.param "w" quant <bits = 8, group = 4, symmetric = true> part <values> : tensor<4x4xf32>
  return
}

// -----

func.func @quant_bits() {
  // expected-error @+1 {{quantization bits must be 4 or 8, got 3}}
  %q = kiln.param "w" quant <bits = 3, group = 4, symmetric = true> part <values> : tensor<4x4xi8>
  return
}

// -----

func.func @dequantize_values_shape(%q: tensor<8x4xi8>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op values must be [4, 4] for 4-bit values of a [8, 4] weight, got [8, 4]}}
  %w = kiln.dequantize %q scales %s quant <bits = 4, group = 8, symmetric = true> : (tensor<8x4xi8>, tensor<1x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @dequantize_scales_shape(%q: tensor<8x4xi8>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op scales must be [2, 4] (one per group and output), got [1, 4]}}
  %w = kiln.dequantize %q scales %s quant <bits = 8, group = 4, symmetric = true> : (tensor<8x4xi8>, tensor<1x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @dequantize_zero_points(%q: tensor<8x4xi8>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op an asymmetric scheme needs zero points}}
  %w = kiln.dequantize %q scales %s quant <bits = 8, group = 8, symmetric = false> : (tensor<8x4xi8>, tensor<1x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @dequantize_group(%q: tensor<6x4xi8>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'kiln.dequantize' op group 4 does not divide K = 6}}
  %w = kiln.dequantize %q scales %s quant <bits = 8, group = 4, symmetric = true> : (tensor<6x4xi8>, tensor<1x4xf32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @param_concat_empty_name() {
  // expected-error @+1 {{'kiln.param' op has an empty name in `concat`}}
  %w = kiln.param "q" concat ["k", ""] : tensor<8x4xf32>
  return
}

// -----

func.func @param_concat_encoded() {
  // expected-error @+1 {{'kiln.param' op `concat` needs at least one name, a tensor of rank >= 1 and no `encoding`}}
  %w = kiln.param "q" concat ["k"] encoding "2:4.values" : tensor<8x4xf32>
  return
}

// -----

func.func @ffn_stacked_and_gate(%x: tensor<?x16xf32>, %up: tensor<128x16xf32>, %gate: tensor<128x16xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{'kiln.ffn' op has `stacked_gate` and a separate gate weight or bias; the gate is either stacked into up or not}}
  %y = kiln.ffn %x up %up stacked_gate gate %gate down %down activation <silu>
      : (tensor<?x16xf32>, tensor<128x16xf32>, tensor<128x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_stacked_odd(%x: tensor<?x16xf32>, %up: tensor<127x16xf32>, %down: tensor<16x64xf32>) {
  // expected-error @+1 {{'kiln.ffn' op has `stacked_gate`, so the up weight stacks gate and up and needs a static, even intermediate dim, got [127, 16]}}
  %y = kiln.ffn %x up %up stacked_gate down %down activation <silu>
      : (tensor<?x16xf32>, tensor<127x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @ffn_stacked_down(%x: tensor<?x16xf32>, %up: tensor<128x16xf32>, %down: tensor<16x128xf32>) {
  // expected-error @+1 {{'kiln.ffn' op down weight has shape [16, 128] but expected [16, 64] ([hidden, inter] with up [2 * inter, hidden], in the op's layout)}}
  %y = kiln.ffn %x up %up stacked_gate down %down activation <silu>
      : (tensor<?x16xf32>, tensor<128x16xf32>, tensor<16x128xf32>) -> tensor<?x16xf32>
  return
}

// -----

func.func @linear_residual_shape(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>, %r: tensor<?x16xf32>) {
  // expected-error @+1 {{'kiln.linear' op residual has shape [?, 16] but expected [?, 32] (the result's shape)}}
  %y = kiln.linear %x, %w residual %r : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_residual_type(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>, %r: tensor<?x32xf16>) {
  // expected-error @+1 {{'kiln.linear' op residual has element type 'f16' but expected 'f32' (that of input)}}
  %y = kiln.linear %x, %w residual %r : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<?x32xf16>) -> tensor<?x32xf32>
  return
}

// -----

func.func @ffn_residual_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %r: tensor<?x64xf32>) {
  // expected-error @+1 {{'kiln.ffn' op residual has shape [?, 64] but expected [?, 16] (the input's shape)}}
  %y = kiln.ffn %x up %up down %down residual %r activation <gelu>
      : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<?x64xf32>) -> tensor<?x16xf32>
  return
}
