func.func @param_empty_name() {
  %w = kiln.param "" : tensor<4xf32>
  return
}
