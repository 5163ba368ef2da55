func.func @layer_norm_epsilon(%x: tensor<?x16xf32>) {
  %y = kiln.layer_norm %x epsilon -1.0 : (tensor<?x16xf32>) -> tensor<?x16xf32>
  return
}
