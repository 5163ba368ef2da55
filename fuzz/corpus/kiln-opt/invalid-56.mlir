func.func @merge_heads_result(%x: tensor<?x4x8xf32>) {
  %y = kiln.merge_heads %x : tensor<?x4x8xf32> -> tensor<?x16xf32>
  return
}
