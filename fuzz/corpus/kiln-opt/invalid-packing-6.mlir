func.func @unpack_batch(%p: tensor<?x16xf32>, %cu: tensor<5xi32>, %s: index) {
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x16xf32>, tensor<5xi32>, index) -> tensor<3x?x16xf32>
  return
}
