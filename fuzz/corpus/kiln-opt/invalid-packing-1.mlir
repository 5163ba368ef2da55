func.func @pack_lengths(%x: tensor<4x?x16xf32>, %len: tensor<3xi32>) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<4x?x16xf32>, tensor<3xi32>) -> (tensor<?x16xf32>, tensor<5xi32>)
  return
}
