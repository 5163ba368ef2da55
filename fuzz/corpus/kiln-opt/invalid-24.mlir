func.func @ffn_down_bias(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>, %b: tensor<64xf32>) {
  %y = kiln.ffn %x up %up down %down down_bias %b activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<?x16xf32>
  return
}
