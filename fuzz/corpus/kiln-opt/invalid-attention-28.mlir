func.func @results_without_cache(%q: tensor<?x?x4x8xf32>) {
  %o:2 = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>)
  return
}
