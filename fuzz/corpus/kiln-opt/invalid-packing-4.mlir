func.func @pack_element_type(%x: tensor<?x?x16xf32>, %len: tensor<?xi32>) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x16xf32>, tensor<?xi32>) -> (tensor<?x16xf16>, tensor<?xi32>)
  return
}
