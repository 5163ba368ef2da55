func.func @linear_in_features_in_out(%x: tensor<?x8xf32>, %w: tensor<16x8xf32>) {
  %y = kiln.linear %x, %w layout <in_out> : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return
}
