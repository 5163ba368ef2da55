func.func @param_panels_shape() {
  %w = kiln.param "w" transposed panels 64 : tensor<4x32x32xf32>
  return
}
