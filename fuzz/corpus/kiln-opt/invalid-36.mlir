func.func @rope_rank(%x: tensor<?x8xf32>, %p: tensor<?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x8xf32>, tensor<?xi64>) -> tensor<?x8xf32>
  return
}
