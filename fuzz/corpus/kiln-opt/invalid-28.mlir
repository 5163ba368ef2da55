func.func @layer_norm_scalar(%x: tensor<f32>) {
  %y = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<f32>) -> tensor<f32>
  return
}
