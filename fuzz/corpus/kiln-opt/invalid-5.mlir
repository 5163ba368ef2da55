func.func @embedding_float_ids(%t: tensor<100x16xf32>, %ids: tensor<?xf32>) {
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?xf32> -> tensor<?x16xf32>
  return
}
