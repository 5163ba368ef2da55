func.func @split_heads_result(%x: tensor<?x16xf32>) {
  %y = kiln.split_heads %x heads 4 : tensor<?x16xf32> -> tensor<?x4x8xf32>
  return
}
