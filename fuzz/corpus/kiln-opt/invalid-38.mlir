func.func @rope_positions_packed(%x: tensor<?x4x8xf32>, %p: tensor<?x?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<?x4x8xf32>, tensor<?x?xi64>) -> tensor<?x4x8xf32>
  return
}
