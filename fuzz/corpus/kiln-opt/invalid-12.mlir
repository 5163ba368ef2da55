func.func @linear_weight_element_type(%x: tensor<?x16xf32>, %w: tensor<8x16xf16>) {
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf16>) -> tensor<?x8xf32>
  return
}
