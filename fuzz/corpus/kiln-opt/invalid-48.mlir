func.func @mul_integer(%x: tensor<?x16xi32>) {
  %z = kiln.mul %x, %x : tensor<?x16xi32>
  return
}
