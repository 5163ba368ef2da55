func.func @no_round_trip(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>, %other: tensor<?xi32>, %short: index)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %c1 = arith.constant 1 : index
  %p, %cu = kiln.pack %x lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %s = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %u = kiln.unpack %p cu_seqlens %cu seq_len %s : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %left, %cu1 = kiln.pack %u lengths %len side <left> : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %others, %cu2 = kiln.pack %u lengths %other : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  %v = kiln.unpack %p cu_seqlens %cu seq_len %short : (tensor<?x8xf32>, tensor<?xi32>, index) -> tensor<?x?x8xf32>
  %cut, %cu3 = kiln.pack %v lengths %len : (tensor<?x?x8xf32>, tensor<?xi32>) -> (tensor<?x8xf32>, tensor<?xi32>)
  return %left, %others, %cut : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
