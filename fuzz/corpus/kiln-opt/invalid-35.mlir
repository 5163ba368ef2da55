func.func @rms_norm_weight(%x: tensor<?x?x16xf32>, %g: tensor<32xf32>) {
  %y = kiln.rms_norm %x weight %g epsilon 1.0e-6 : (tensor<?x?x16xf32>, tensor<32xf32>) -> tensor<?x?x16xf32>
  return
}
