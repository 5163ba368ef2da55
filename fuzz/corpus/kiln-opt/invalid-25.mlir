func.func @ffn_result_shape(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<?x64xf32>
  return
}
