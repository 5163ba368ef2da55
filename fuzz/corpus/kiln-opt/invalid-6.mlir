func.func @linear_weight_rank(%x: tensor<?x16xf32>, %w: tensor<16xf32>) {
  %y = kiln.linear %x, %w : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return
}
