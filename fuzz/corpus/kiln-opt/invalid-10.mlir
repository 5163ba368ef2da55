func.func @linear_bias_shape(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) {
  %y = kiln.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<?x8xf32>
  return
}
