func.func @conv_cu_needs_packed(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %cu: tensor<?xi32>) {
  %y = kiln.causal_conv1d %x, %w cu_seqlens %cu : (tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
  return
}
