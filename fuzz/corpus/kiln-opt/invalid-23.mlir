func.func @ffn_gate_bias_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<16xf32>) {
  %y = kiln.ffn %x up %up gate %up down %down gate_bias %b activation <silu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}
