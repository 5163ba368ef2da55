func.func @scan_element_type(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf16>, %B: tensor<?x?x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf16>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}
