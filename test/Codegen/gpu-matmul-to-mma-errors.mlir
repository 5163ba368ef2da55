// RUN: kiln-opt --kiln-gpu-matmul-to-mma --split-input-file --verify-diagnostics %s
// RUN: not kiln-opt "--kiln-gpu-matmul-to-mma=stages=4" %s 2>&1 | FileCheck %s --check-prefix=STAGES

// RUN: not kiln-opt "--kiln-gpu-matmul-to-mma=block-n=256" %s 2>&1 | FileCheck %s --check-prefix=SMEM

// SMEM: error: kiln-gpu-matmul-to-mma: stages=3 block-n=256 is not supported
// STAGES: error: kiln-gpu-matmul-to-mma: stages=4 block-n=128 is not supported (block-n is 128 or 256, stages at least 2, and the buffers must fit in 48 KiB of static shared memory)

// A copy moves 8 elements of a row: K = 12 cannot be copied that way.
func.func @odd_k(%a: memref<64x12xbf16>, %b: memref<64x12xbf16>, %c: memref<64x64xf32>) {
  // expected-warning @below {{kiln-gpu-matmul-to-mma: left to the generic path: K of 12 is not a multiple of 8}}
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<64x12xbf16>, memref<64x12xbf16>) outs(%c : memref<64x64xf32>)
  return
}

// -----

func.func @odd_n(%a: memref<64x16xbf16>, %b: memref<16x20xbf16>, %c: memref<64x20xbf16>) {
  // expected-warning @below {{kiln-gpu-matmul-to-mma: left to the generic path: N of 20 is not a multiple of 8}}
  linalg.matmul ins(%a, %b : memref<64x16xbf16>, memref<16x20xbf16>) outs(%c : memref<64x20xbf16>)
  return
}

// -----

func.func @tensors(%a: tensor<64x16xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-warning @below {{kiln-gpu-matmul-to-mma: left to the generic path: operands are tensors (run it after bufferization)}}
  %0 = linalg.matmul ins(%a, %b : tensor<64x16xbf16>, tensor<16x64xbf16>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

func.func @strided_columns(%a: memref<64x32xbf16, strided<[64, 2]>>, %b: memref<32x64xbf16>, %c: memref<64x64xf32>) {
  // expected-warning @below {{kiln-gpu-matmul-to-mma: left to the generic path: an operand's innermost stride is not 1}}
  linalg.matmul ins(%a, %b : memref<64x32xbf16, strided<[64, 2]>>, memref<32x64xbf16>) outs(%c : memref<64x64xf32>)
  return
}

// -----

func.func @misaligned_rows(%a: memref<64x16xbf16, strided<[20, 1]>>, %b: memref<16x64xbf16>, %c: memref<64x64xf32>) {
  // expected-warning @below {{kiln-gpu-matmul-to-mma: left to the generic path: a row stride of A or B is not a multiple of 8 elements}}
  linalg.matmul ins(%a, %b : memref<64x16xbf16, strided<[20, 1]>>, memref<16x64xbf16>) outs(%c : memref<64x64xf32>)
  return
}
