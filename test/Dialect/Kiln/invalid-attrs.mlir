// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Parser and verifier errors of the mask and softmax attributes.

func.func @mask_unknown(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{unknown mask kind 'dilated'; expected none, causal, padding, sliding_window or block_sparse}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <dilated> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @window_positive(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{sliding_window mask needs a positive window, got 0}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <sliding_window 0> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @window_missing(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{expected integer value}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <sliding_window> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @block_size(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{block_sparse mask needs a positive block size, got 0}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse block = 0, local = 1, global = 0> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @block_local(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{block_sparse mask needs local >= 1 (a block must see itself), got 0}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse block = 16, local = 0, global = 0> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @block_global(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{block_sparse mask needs global >= 0, got -1}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse block = 16, local = 1, global = -1> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @block_params_missing(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{expected 'block'}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 mask <block_sparse> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @softmax_unknown(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{unknown softmax kind 'sparsemax'; expected standard or clipped}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <sparsemax> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @softmax_zeta(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{clipped softmax needs zeta >= 1, got 5.000000e-01}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <clipped zeta = 0.5, gamma = -0.1> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @softmax_gamma(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{clipped softmax needs gamma <= 0, got 1.000000e-01}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <clipped zeta = 1.1, gamma = 0.1> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @softmax_params_missing(%q: tensor<?x?x4x8xf32>) {
  // expected-error @+1 {{expected 'zeta'}}
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <clipped> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}

// -----

// Standalone attribute syntax outside an op.
// expected-error @+1 {{sliding_window mask needs a positive window, got -4}}
func.func private @standalone() attributes {kiln.mask = #kiln.mask<sliding_window -4>}
