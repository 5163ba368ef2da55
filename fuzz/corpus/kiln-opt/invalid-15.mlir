func.func @ffn_up_rank(%x: tensor<?x16xf32>, %up: tensor<64xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}
