func.func @rope_result(%x: tensor<?x4x8xf32>, %p: tensor<?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x8xf32>, tensor<?xi64>) -> tensor<?x4x4xf32>
  return
}
