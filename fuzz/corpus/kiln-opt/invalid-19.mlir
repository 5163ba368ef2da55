func.func @ffn_gate_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %gate: tensor<32x16xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up gate %gate down %down activation <silu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<32x16xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}
