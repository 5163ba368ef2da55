// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Verifier rules of the sparse linears and of encoded params.

func.func @param_unknown_encoding() {
  // expected-error @+1 {{'kiln.param' op has unknown encoding 'csr.values' (expected bsrRxC.values, bsrRxC.columns, bsrRxC.offsets, 2:4.values or 2:4.meta)}}
  %w = kiln.param "w" encoding "csr.values" : tensor<4xf32>
  return
}

// -----

func.func @param_transposed_encoding() {
  // expected-error @+1 {{'kiln.param' op cannot both transpose and encode a weight}}
  %w = kiln.param "w" transposed encoding "2:4.values" : tensor<4x4xf32>
  return
}

// -----

func.func @bsr_columns(%x: tensor<?x32xf32>, %v: tensor<3x16x16xf32>, %c: tensor<2xi32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'kiln.block_sparse_linear' op columns has shape [2] but expected [3] (one block column per stored block)}}
  %y = kiln.block_sparse_linear %x, %v, %c, %o : (tensor<?x32xf32>, tensor<3x16x16xf32>, tensor<2xi32>, tensor<3xi32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @bsr_width(%x: tensor<?x40xf32>, %v: tensor<3x16x16xf32>, %c: tensor<3xi32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'kiln.block_sparse_linear' op input features (40) must be static and a multiple of the block width 16}}
  %y = kiln.block_sparse_linear %x, %v, %c, %o : (tensor<?x40xf32>, tensor<3x16x16xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @bsr_result(%x: tensor<?x32xf32>, %v: tensor<3x16x16xf32>, %c: tensor<3xi32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'kiln.block_sparse_linear' op result has shape [?, 48] but expected [?, 32] (input with the last dim = output features)}}
  %y = kiln.block_sparse_linear %x, %v, %c, %o : (tensor<?x32xf32>, tensor<3x16x16xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<?x48xf32>
  return
}

// -----

func.func @semi_meta(%x: tensor<?x64xf32>, %v: tensor<32x32xf32>, %m: tensor<32x4xi8>) {
  // expected-error @+1 {{'kiln.semi_sparse_linear' op meta has shape [32, 4] but expected [32, 8] ([out, in / 8], four 2-bit positions per byte)}}
  %y = kiln.semi_sparse_linear %x, %v, %m : (tensor<?x64xf32>, tensor<32x32xf32>, tensor<32x4xi8>) -> tensor<?x32xf32>
  return
}

// -----

func.func @semi_values(%x: tensor<?x12xf32>, %v: tensor<32x6xf32>, %m: tensor<32x1xi8>) {
  // expected-error @+1 {{'kiln.semi_sparse_linear' op values must be static [out, in / 2] with in a multiple of 8, got [32, 6]}}
  %y = kiln.semi_sparse_linear %x, %v, %m : (tensor<?x12xf32>, tensor<32x6xf32>, tensor<32x1xi8>) -> tensor<?x32xf32>
  return
}

// -----

func.func @semi_bias(%x: tensor<?x64xf32>, %v: tensor<32x32xf32>, %m: tensor<32x8xi8>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'kiln.semi_sparse_linear' op bias has shape [16] but expected [32] (the weight's output features)}}
  %y = kiln.semi_sparse_linear %x, %v, %m bias %b : (tensor<?x64xf32>, tensor<32x32xf32>, tensor<32x8xi8>, tensor<16xf32>) -> tensor<?x32xf32>
  return
}
