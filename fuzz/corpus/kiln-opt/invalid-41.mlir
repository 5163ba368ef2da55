func.func @rope_theta(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  %y = kiln.rope %x positions %p theta 0.0 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x8xf32>
  return
}
