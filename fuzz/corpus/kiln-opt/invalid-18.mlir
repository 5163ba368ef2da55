func.func @ffn_up_hidden(%x: tensor<?x16xf32>, %up: tensor<64x8xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x8xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}
