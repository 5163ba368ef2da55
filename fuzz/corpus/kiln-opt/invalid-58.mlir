func.func @param_transposed_rank() {
  %w = kiln.param "w" transposed : tensor<4x4x4xf32>
  return
}
