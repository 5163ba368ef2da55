func.func @positions_shape(%q: tensor<2x1x4x8xf32>, %c: tensor<2x64x4x8xf32>, %p: tensor<3xi64>) {
  %o:3 = kiln.attention %q, %q, %q cache(%c, %c) positions %p heads 4 kv_heads 4 : (tensor<2x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<2x64x4x8xf32>, tensor<2x64x4x8xf32>, tensor<3xi64>) -> (tensor<2x1x4x8xf32>, tensor<2x64x4x8xf32>, tensor<2x64x4x8xf32>)
  return
}
