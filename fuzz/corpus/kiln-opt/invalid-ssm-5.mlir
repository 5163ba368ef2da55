func.func @scan_dt(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>) {
  %y = kiln.selective_scan %x, %dt, %A, %B, %B : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  return
}
