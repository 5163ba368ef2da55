func.func @conv_weight_rank(%x: tensor<?x?x8xf32>, %w: tensor<8x1x4xf32>) {
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x1x4xf32>) -> tensor<?x?x8xf32>
  return
}
