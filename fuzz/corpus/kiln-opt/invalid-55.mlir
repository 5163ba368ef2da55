func.func @merge_heads_rank(%x: tensor<16xf32>) {
  %y = kiln.merge_heads %x : tensor<16xf32> -> tensor<16xf32>
  return
}
