func.func private @standalone() attributes {kiln.mask = #kiln.mask<sliding_window -4>}
