func.func @param_dynamic() {
  %w = kiln.param "w" : tensor<?xf32>
  return
}
