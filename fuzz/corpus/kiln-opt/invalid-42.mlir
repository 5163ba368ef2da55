func.func @rope_dynamic_head_dim(%x: tensor<?x4x?xf32>, %p: tensor<?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x?xf32>, tensor<?xi64>) -> tensor<?x4x?xf32>
  return
}
