func.func @pack_cu_seqlens(%x: tensor<4x?x16xf32>, %len: tensor<4xi32>) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<4x?x16xf32>, tensor<4xi32>) -> (tensor<?x16xf32>, tensor<4xi32>)
  return
}
