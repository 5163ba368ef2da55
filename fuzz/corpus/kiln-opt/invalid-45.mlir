func.func @activation_type(%x: tensor<?x16xf32>) {
  %y = "kiln.activation"(%x) <{kind = #kiln.activation<gelu>}> : (tensor<?x16xf32>) -> tensor<?x8xf32>
  return
}
