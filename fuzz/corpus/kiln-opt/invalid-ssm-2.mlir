func.func @scan_dynamic_state(%x: tensor<?x?x8xf32>, %A: tensor<8x?xf32>, %B: tensor<?x?x?xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x8xf32>
  return
}
