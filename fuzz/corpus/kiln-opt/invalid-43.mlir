func.func @rope_rotary_dim_odd(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 rotary_dim 3 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}
