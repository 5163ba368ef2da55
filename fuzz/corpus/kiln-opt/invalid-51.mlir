func.func @split_heads_dynamic(%x: tensor<?x?xf32>) {
  %y = kiln.split_heads %x heads 2 : tensor<?x?xf32> -> tensor<?x2x?xf32>
  return
}
