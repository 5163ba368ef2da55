func.func @pack_rank(%x: tensor<?xf32>, %len: tensor<?xi32>) {
  %p, %cu = kiln.pack %x lengths %len : (tensor<?xf32>, tensor<?xi32>) -> (tensor<?xf32>, tensor<?xi32>)
  return
}
