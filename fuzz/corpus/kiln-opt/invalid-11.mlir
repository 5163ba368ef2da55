func.func @linear_result_shape(%x: tensor<?x16xf32>, %w: tensor<8x16xf32>) {
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  return
}
