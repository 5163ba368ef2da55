func.func @rope_positions(%x: tensor<2x?x4x8xf32>, %p: tensor<3x?xi64>) {
  %y = kiln.rope %x positions %p theta 1.0e4 : (tensor<2x?x4x8xf32>, tensor<3x?xi64>) -> tensor<2x?x4x8xf32>
  return
}
