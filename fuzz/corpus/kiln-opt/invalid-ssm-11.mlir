func.func @scan_dt_bias(%x: tensor<?x?x8xf32>, %A: tensor<8x4xf32>, %B: tensor<?x?x4xf32>, %db: tensor<8x1xf32>) {
  %y = kiln.selective_scan %x, %x, %A, %B, %B dt_bias %db : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<8x1xf32>) -> tensor<?x?x8xf32>
  return
}
