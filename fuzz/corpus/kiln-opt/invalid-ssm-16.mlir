func.func @conv_rank(%x: tensor<?xf32>, %w: tensor<8x4xf32>) {
  %y = kiln.causal_conv1d %x, %w : (tensor<?xf32>, tensor<8x4xf32>) -> tensor<?xf32>
  return
}
