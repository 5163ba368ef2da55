func.func @layer_norm_weight(%x: tensor<?x16xf32>, %g: tensor<8xf32>) {
  %y = kiln.layer_norm %x weight %g epsilon 1.0e-5 : (tensor<?x16xf32>, tensor<8xf32>) -> tensor<?x16xf32>
  return
}
