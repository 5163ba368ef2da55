// RUN: kiln-opt %s --kiln-lower-to-linalg --verify-diagnostics

func.func @elsewhere(%q: tensor<64x16xi8>, %s: tensor<1x16xf32>) -> tensor<64x16xf32> {
  // expected-error @+1 {{'kiln.dequantize' op can only be lowered as the in_out weight of kiln.linear or kiln.ffn on f32 inputs}}
  %w = kiln.dequantize %q scales %s quant <bits = 8, group = 64, symmetric = true> : (tensor<64x16xi8>, tensor<1x16xf32>) -> tensor<64x16xf32>
  return %w : tensor<64x16xf32>
}
