func.func @conv_packed_needs_cu(%x: tensor<?x8xf32>, %w: tensor<8x4xf32>) {
  %y = kiln.causal_conv1d %x, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x8xf32>
  return
}
