func.func @output_shape(%q: tensor<?x?x4x8xf32>, %v: tensor<?x?x4x16xf32>) {
  %o = kiln.attention %q, %q, %v heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x16xf32>) -> tensor<?x?x4x8xf32>
  return
}
