func.func @scan_packed_state_batch(%x: tensor<?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x4xf32>, %cu: tensor<3xi32>) {
  %y:2 = kiln.selective_scan %x, %x, %A, %B, %B cu_seqlens %cu : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<3xi32>) -> (tensor<?x8xf32>, tensor<3x8x4xf32>)
  return
}
