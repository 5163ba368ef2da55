func.func @split_heads_type(%x: tensor<?x16xf32>) {
  %y = kiln.split_heads %x heads 4 : tensor<?x16xf32> -> tensor<?x4x4xf16>
  return
}
