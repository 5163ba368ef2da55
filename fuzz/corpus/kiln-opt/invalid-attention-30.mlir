func.func @key_mask_shape(%q: tensor<?x7x4x8xf32>, %m: tensor<?x9xi64>) {
  %o = kiln.attention %q, %q, %q key_mask %m heads 4 kv_heads 4 mask <padding> : (tensor<?x7x4x8xf32>, tensor<?x7x4x8xf32>, tensor<?x7x4x8xf32>, tensor<?x9xi64>) -> tensor<?x7x4x8xf32>
  return
}
