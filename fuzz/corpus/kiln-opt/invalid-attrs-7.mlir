func.func @softmax_unknown(%q: tensor<?x?x4x8xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 softmax <sparsemax> : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return
}
