func.func @ffn_element_type(%x: tensor<?x16xf32>, %up: tensor<64x16xf32>, %down: tensor<16x64xbf16>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<16x64xbf16>) -> tensor<?x16xf32>
  return
}
