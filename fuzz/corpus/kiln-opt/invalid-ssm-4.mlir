func.func @scan_cu_needs_packed(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %cu: tensor<?xi32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B cu_seqlens %cu : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?xi32>) -> tensor<?x?x8xf32>
  return
}
