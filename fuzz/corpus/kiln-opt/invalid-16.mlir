func.func @ffn_down_rank(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}
