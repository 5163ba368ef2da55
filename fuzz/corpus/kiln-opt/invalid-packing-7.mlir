func.func @unpack_element_type(%p: tensor<?x16xf32>, %cu: tensor<?xi32>, %s: index) {
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x16xf32>, tensor<?xi32>, index) -> tensor<?x?x16xbf16>
  return
}
