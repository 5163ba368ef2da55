//===- Passes.cpp - kiln pass registration --------------------------------===//
//
// Part of Kiln. Each pass lives in its own file named after it; this file
// only anchors the generated registration.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
