func.func @add_types(%x: tensor<?x16xf32>, %y: tensor<?x8xf32>) {
  %z = "kiln.add"(%x, %y) : (tensor<?x16xf32>, tensor<?x8xf32>) -> tensor<?x16xf32>
  return
}
