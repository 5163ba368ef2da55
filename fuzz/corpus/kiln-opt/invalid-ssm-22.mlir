func.func @conv_bias(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %b: tensor<4xf32>) {
  %y = kiln.causal_conv1d %x, %w bias %b : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<4xf32>) -> tensor<?x?x8xf32>
  return
}
