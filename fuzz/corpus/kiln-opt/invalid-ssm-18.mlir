func.func @conv_dynamic_kernel(%x: tensor<?x?x8xf32>, %w: tensor<8x?xf32>) {
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x?xf32>) -> tensor<?x?x8xf32>
  return
}
