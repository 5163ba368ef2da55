func.func @linear_bias_element_type(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf16>) {
  %y = kiln.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<8xf16>) -> tensor<?x8xf32>
  return
}
