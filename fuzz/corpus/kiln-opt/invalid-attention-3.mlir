func.func @query_rank(%q: tensor<?x32xf32>) {
  %o = kiln.attention %q, %q, %q heads 4 kv_heads 4 : (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  return
}
