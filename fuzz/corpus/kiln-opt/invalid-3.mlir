func.func @embedding_result_shape(%t: tensor<100x16xf32>, %ids: tensor<?x?xi64>) {
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x32xf32>
  return
}
