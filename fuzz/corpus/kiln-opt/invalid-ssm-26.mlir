func.func @conv_element_type(%x: tensor<?x?x8xf32>, %w: tensor<8x4xbf16>) {
  %y = kiln.causal_conv1d %x, %w : (tensor<?x?x8xf32>, tensor<8x4xbf16>) -> tensor<?x?x8xf32>
  return
}
