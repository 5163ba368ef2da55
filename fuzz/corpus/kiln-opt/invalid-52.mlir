func.func @split_heads_divisible(%x: tensor<?x10xf32>) {
  %y = kiln.split_heads %x heads 4 : tensor<?x10xf32> -> tensor<?x4x2xf32>
  return
}
