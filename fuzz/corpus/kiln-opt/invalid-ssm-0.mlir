func.func @scan_rank(%x: tensor<?x?x?x8xf32>, %A: tensor<8x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %x, %x : (tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x?x8xf32>, tensor<?x?x?x8xf32>) -> tensor<?x?x?x8xf32>
  return
}
