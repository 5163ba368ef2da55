func.func @conv_final_state(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>) {
  %y:2 = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> (tensor<?x?x8xf32>, tensor<?x8x4xf32>)
  return
}
