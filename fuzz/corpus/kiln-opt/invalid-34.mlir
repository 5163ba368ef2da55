func.func @layer_norm_weight_type(%x: tensor<?x16xf32>, %g: tensor<16xf16>) {
  %y = kiln.layer_norm %x weight %g epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<16xf16>) -> tensor<?x16xf32>
  return
}
