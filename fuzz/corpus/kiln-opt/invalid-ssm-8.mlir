func.func @scan_C(%x: tensor<2x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<2x?x4xf32>, %C: tensor<3x?x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %C : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<8x4xf32>, tensor<2x?x4xf32>, tensor<3x?x4xf32>) -> tensor<2x?x8xf32>
  return
}
