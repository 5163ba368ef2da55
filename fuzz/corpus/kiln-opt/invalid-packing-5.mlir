func.func @unpack_scalar(%p: tensor<f32>, %cu: tensor<?xi32>, %s: index) {
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<f32>, tensor<?xi32>, index) -> tensor<?x?xf32>
  return
}
