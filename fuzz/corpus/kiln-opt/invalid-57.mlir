func.func @merge_heads_type(%x: tensor<?x4x8xf32>) {
  %y = kiln.merge_heads %x : tensor<?x4x8xf32> -> tensor<?x32xf16>
  return
}
