// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Verifier rules of kiln.pack and kiln.unpack.

func.func @pack_rank(%x: tensor<?xf32>, %len: tensor<?xi32>) {
  // expected-error @+1 {{input must be [batch, seq, ...], got [?]}}
  %p, %cu = kiln.pack %x lengths %len : (tensor<?xf32>, tensor<?xi32>) -> (tensor<?xf32>, tensor<?xi32>)
  return
}

// -----

func.func @pack_lengths(%x: tensor<4x?x16xf32>, %len: tensor<3xi32>) {
  // expected-error @+1 {{lengths has shape [3] but expected [4] (one length per sequence)}}
  %p, %cu = kiln.pack %x lengths %len : (tensor<4x?x16xf32>, tensor<3xi32>) -> (tensor<?x16xf32>, tensor<5xi32>)
  return
}

// -----

func.func @pack_packed_shape(%x: tensor<?x?x16xf32>, %len: tensor<?xi32>) {
  // expected-error @+1 {{packed result has shape [?, 8] but expected [?, 16] ([tokens] followed by the input's trailing dims)}}
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x16xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return
}

// -----

func.func @pack_cu_seqlens(%x: tensor<4x?x16xf32>, %len: tensor<4xi32>) {
  // expected-error @+1 {{cu_seqlens has shape [4] but expected [5] ([batch + 1])}}
  %p, %cu = kiln.pack %x lengths %len : (tensor<4x?x16xf32>, tensor<4xi32>) -> (tensor<?x16xf32>, tensor<4xi32>)
  return
}

// -----

func.func @pack_element_type(%x: tensor<?x?x16xf32>, %len: tensor<?xi32>) {
  // expected-error @+1 {{packed result has element type 'f16' but expected 'f32' (that of input)}}
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x16xf32>, tensor<?xi32>) -> (tensor<?x16xf16>, tensor<?xi32>)
  return
}

// -----

func.func @unpack_scalar(%p: tensor<f32>, %cu: tensor<?xi32>, %s: index) {
  // expected-error @+1 {{packed operand must be [tokens, ...], got a scalar tensor}}
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<f32>, tensor<?xi32>, index) -> tensor<?x?xf32>
  return
}

// -----

func.func @unpack_batch(%p: tensor<?x16xf32>, %cu: tensor<5xi32>, %s: index) {
  // expected-error @+1 {{result has shape [3, ?, 16] but expected [4, ?, 16] ([batch = dim(cu_seqlens) - 1, seq_len] followed by the packed operand's trailing dims)}}
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x16xf32>, tensor<5xi32>, index) -> tensor<3x?x16xf32>
  return
}

// -----

func.func @unpack_element_type(%p: tensor<?x16xf32>, %cu: tensor<?xi32>, %s: index) {
  // expected-error @+1 {{result has element type 'bf16' but expected 'f32' (that of packed operand)}}
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x16xf32>, tensor<?xi32>, index) -> tensor<?x?x16xbf16>
  return
}
