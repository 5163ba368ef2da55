func.func @scan_D(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %D: tensor<4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B D %D : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x8xf32>
  return
}
