func.func @conv_initial_state(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %s: tensor<?x8x4xf32>) {
  %y = kiln.causal_conv1d %x, %w initial_state %s : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x8x4xf32>) -> tensor<?x?x8xf32>
  return
}
