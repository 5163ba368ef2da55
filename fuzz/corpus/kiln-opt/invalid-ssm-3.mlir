func.func @scan_packed_needs_cu(%x: tensor<?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<8x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
  return
}
