func.func @embedding_table_rank(%t: tensor<100xf32>, %ids: tensor<?xi64>) {
  %e = kiln.embedding %t[%ids] : tensor<100xf32>, tensor<?xi64> -> tensor<?x16xf32>
  return
}
