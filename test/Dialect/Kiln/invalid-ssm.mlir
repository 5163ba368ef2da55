// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Verifier rules of kiln.selective_scan and kiln.causal_conv1d.

func.func @scan_rank(%x: tensor<?x?x?x8xf32>, %A: tensor<8x4xf32>) {
  // expected-error @+1 {{x must be [batch, len, channels] or packed [tokens, channels], got [?, ?, ?, 8]}}
  %y = kiln.selective_scan %x, %x, %A, %x, %x : (tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>) -> tensor<?x?x?x8xf32>
  return
}

// -----

func.func @scan_A_rank(%x: tensor<?x?x8xf32>, %A: tensor<8xf32>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{A must have rank 2 ([channels, state]), got [8]}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_dynamic_state(%x: tensor<?x?x8xf32>, %A: tensor<8x?xf32>, %B: tensor<?x?x?xf32>) {
  // expected-error @+1 {{needs a static state size (dim 1 of A)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_packed_needs_cu(%x: tensor<?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x4xf32>) {
  // expected-error @+1 {{packed (rank-2) x needs cu_seqlens}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @scan_cu_needs_packed(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{cu_seqlens needs the packed (rank-2) layout}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B cu_seqlens %cu : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_dt(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{dt has shape [?, ?, 4] but expected [?, ?, 8] (the shape of x)}}
  %y = kiln.selective_scan %x, %dt, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_A_channels(%x: tensor<?x?x8xf32>, %A: tensor<6x4xf32>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{A has shape [6, 4] but expected [8, 4] (channels of x, state size)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<6x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_B(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x5xf32>, %C: tensor<?x?x4xf32>) {
  // expected-error @+1 {{B has shape [?, ?, 5] but expected [?, ?, 4] (x's leading dims, state size)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %C : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x5xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_C(%x: tensor<2x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<2x?x4xf32>, %C: tensor<3x?x4xf32>) {
  // expected-error @+1 {{C has shape [3, ?, 4] but expected [2, ?, 4] (x's leading dims, state size)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %C : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<8x4xf32>, tensor<2x?x4xf32>, tensor<3x?x4xf32>) -> tensor<2x?x8xf32>
  return
}

// -----

func.func @scan_D(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %D: tensor<4xf32>) {
  // expected-error @+1 {{D has shape [4] but expected [8] (channels of x)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B D %D : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_z(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{z has shape [?, ?, 4] but expected [?, ?, 8] (the shape of x)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B z %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_dt_bias(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %db: tensor<8x1xf32>) {
  // expected-error @+1 {{dt_bias has shape [8, 1] but expected [8] (channels of x)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B dt_bias %db : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<8x1xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_initial_state(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %s: tensor<?x4x8xf32>) {
  // expected-error @+1 {{initial_state has shape [?, 4, 8] but expected [?, 8, 4] ([batch, channels, state])}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B initial_state %s : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @scan_packed_state_batch(%x: tensor<?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x4xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{final_state has shape [3, 8, 4] but expected [2, 8, 4] ([batch, channels, state])}}
  %y:2 = kiln.selective_scan %x, %x, %A, %B, %B cu_seqlens %cu : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<3xi32>) -> (tensor<?x8xf32>, tensor<3x8x4xf32>)
  return
}

// -----

func.func @scan_y(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{y has shape [?, ?, 4] but expected [?, ?, 8] (the shape of x)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @scan_element_type(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf16>, %B: tensor<?x?x4xf32>) {
  // expected-error @+1 {{A has element type 'f16' but expected 'f32' (that of x)}}
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf16>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<?xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{input must be [batch, len, channels] or packed [tokens, channels], got [?]}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?xf32>, tensor<8x4xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<?x?x8xf32>, %w: tensor<8x1x4xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([channels, kernel_size]), got [8, 1, 4]}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x1x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_dynamic_kernel(%x: tensor<?x?x8xf32>, %w: tensor<8x?xf32>) {
  // expected-error @+1 {{needs a static kernel size >= 1 (dim 1 of the weight), got [8, ?]}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x?xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_packed_needs_cu(%x: tensor<?x8xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{packed (rank-2) input needs cu_seqlens}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @conv_cu_needs_packed(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %cu: tensor<?xi32>) {
  // expected-error @+1 {{cu_seqlens needs the packed (rank-2) layout}}
  %y = kiln.causal_conv1d %x, %w cu_seqlens %cu : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_weight_channels(%x: tensor<?x?x8xf32>, %w: tensor<6x4xf32>) {
  // expected-error @+1 {{weight has shape [6, 4] but expected [8, 4] (channels of the input)}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<6x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{bias has shape [4] but expected [8] (channels of the input)}}
  %y = kiln.causal_conv1d %x, %w bias %b : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_initial_state(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %s: tensor<?x8x4xf32>) {
  // expected-error @+1 {{initial_state has shape [?, 8, 4] but expected [?, 8, 3] ([batch, channels, kernel_size - 1])}}
  %y = kiln.causal_conv1d %x, %w initial_state %s : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x8x4xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{result has shape [?, ?, 4] but expected [?, ?, 8] (the input's shape)}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @conv_final_state(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{final_state has shape [?, 8, 4] but expected [?, 8, 3] ([batch, channels, kernel_size - 1])}}
  %y:2 = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x4xf32>)
  return
}

// -----

func.func @conv_element_type(%x: tensor<?x?x8xf32>, %w: tensor<8x4xbf16>) {
  // expected-error @+1 {{weight has element type 'bf16' but expected 'f32' (that of input)}}
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x4xbf16>) -> tensor<?x?x8xf32>
  return
}
