func.func @ffn_scalar_input(%x: tensor<f32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<f32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<f32>
  return
}
