func.func @linear_in_features(%x: tensor<?x12xf32>, %w: tensor<8x16xf32>) {
  %y = kiln.linear %x, %w : (tensor<?x12xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return
}
