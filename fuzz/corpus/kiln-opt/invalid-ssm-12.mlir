func.func @scan_initial_state(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %s: tensor<?x4x8xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B initial_state %s : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x4x8xf32>) -> tensor<?x?x8xf32>
  return
}
