func.func @activation_unknown(%x: tensor<?x16xf32>) {
  %y = kiln.activation <swish> %x : tensor<?x16xf32>
  return
}
