func.func @layer_norm_result(%x: tensor<?x16xf32>) {
  %y = kiln.layer_norm %x epsilon 1.0e-5 : (tensor<?x16xf32>) -> tensor<?x8xf32>
  return
}
