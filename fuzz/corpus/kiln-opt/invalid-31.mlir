func.func @layer_norm_bias(%x: tensor<?x16xf32>, %b: tensor<16x1xf32>) {
  %y = kiln.layer_norm %x bias %b epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<16x1xf32>) -> tensor<?x16xf32>
  return
}
