func.func @split_heads_scalar(%x: tensor<f32>) {
  %y = kiln.split_heads %x heads 2 : tensor<f32> -> tensor<2xf32>
  return
}
