func.func @param_panels_positive() {
  %w = kiln.param "w" panels 0 : tensor<4x32x0xf32>
  return
}
