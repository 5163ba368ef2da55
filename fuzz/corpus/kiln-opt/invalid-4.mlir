func.func @embedding_result_element_type(%t: tensor<100x16xf32>, %ids: tensor<?xi64>) {
  %e = kiln.embedding %t[%ids] : tensor<100x16xf32>, tensor<?xi64> -> tensor<?x16xf16>
  return
}
