func.func @scan_A_rank(%x: tensor<?x?x8xf32>, %A: tensor<8xf32>, %B: tensor<?x?x4xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}
