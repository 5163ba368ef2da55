func.func @scan_B(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x5xf32>, %C: tensor<?x?x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %C : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x5xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}
