func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<8x16xf32>) {
  %y = kiln.linear %x, %w : (tensor<f32>, tensor<8x16xf32>) -> tensor<8xf32>
  return
}
