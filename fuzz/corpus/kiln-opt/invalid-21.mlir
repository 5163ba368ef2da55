func.func @ffn_down_shape_in_out(%x: tensor<?x16xf32>, %up: tensor<16x64xf32>, %down: tensor<16x64xf32>) {
  %y = kiln.ffn %x up %up down %down activation <gelu> layout <in_out> : (tensor<?x16xf32>, tensor<16x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return
}
