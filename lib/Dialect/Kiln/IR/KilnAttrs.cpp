//===- KilnAttrs.cpp - kiln enums and attributes --------------------------===//
//
// Part of Kiln. Parsers, printers and verifiers of the mask and softmax
// attributes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnAttrs.h"
#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kiln;

#include "kiln/Dialect/Kiln/IR/KilnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Kiln/IR/KilnAttrs.cpp.inc"

void KilnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/Kiln/IR/KilnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

/// Parses `name = <integer>`.
static ParseResult parseNamedInt(AsmParser &parser, StringRef name,
                                 int64_t &value) {
  if (parser.parseKeyword(name) || parser.parseEqual() ||
      parser.parseInteger(value))
    return failure();
  return success();
}

Attribute MaskAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<MaskKind> kind = symbolizeMaskKind(keyword);
  if (!kind) {
    parser.emitError(loc, "unknown mask kind '")
        << keyword
        << "'; expected none, causal, padding, sliding_window or "
           "block_sparse";
    return {};
  }
  int64_t window = 0, blockSize = 0, localBlocks = 0, globalBlocks = 0;
  if (*kind == MaskKind::sliding_window && parser.parseInteger(window))
    return {};
  if (*kind == MaskKind::block_sparse &&
      (parseNamedInt(parser, "block", blockSize) || parser.parseComma() ||
       parseNamedInt(parser, "local", localBlocks) || parser.parseComma() ||
       parseNamedInt(parser, "global", globalBlocks)))
    return {};
  if (parser.parseGreater())
    return {};
  return parser.getChecked<MaskAttr>(loc, parser.getContext(), *kind, window,
                                     blockSize, localBlocks, globalBlocks);
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyMaskKind(getKind());
  if (getKind() == MaskKind::sliding_window)
    printer << ' ' << getWindow();
  if (getKind() == MaskKind::block_sparse)
    printer << " block = " << getBlockSize() << ", local = " << getLocalBlocks()
            << ", global = " << getGlobalBlocks();
  printer << '>';
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               MaskKind kind, int64_t window, int64_t blockSize,
                               int64_t localBlocks, int64_t globalBlocks) {
  if (kind == MaskKind::sliding_window && window <= 0)
    return emitError() << "sliding_window mask needs a positive window, got "
                       << window;
  if (kind != MaskKind::sliding_window && window != 0)
    return emitError() << "only a sliding_window mask takes a window";
  if (kind == MaskKind::block_sparse) {
    if (blockSize <= 0)
      return emitError() << "block_sparse mask needs a positive block size, "
                            "got "
                         << blockSize;
    if (localBlocks < 1)
      return emitError() << "block_sparse mask needs local >= 1 (a block "
                            "must see itself), got "
                         << localBlocks;
    if (globalBlocks < 0)
      return emitError() << "block_sparse mask needs global >= 0, got "
                         << globalBlocks;
  } else if (blockSize || localBlocks || globalBlocks) {
    return emitError() << "only a block_sparse mask takes block parameters";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxAttr
//===----------------------------------------------------------------------===//

SoftmaxAttr SoftmaxAttr::getStandard(MLIRContext *context) {
  return get(context, SoftmaxKind::standard, APFloat(1.0), APFloat(0.0));
}

Attribute SoftmaxAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<SoftmaxKind> kind = symbolizeSoftmaxKind(keyword);
  if (!kind) {
    parser.emitError(loc, "unknown softmax kind '")
        << keyword << "'; expected standard or clipped";
    return {};
  }
  double zeta = 1.0, gamma = 0.0;
  if (*kind == SoftmaxKind::clipped &&
      (parser.parseKeyword("zeta") || parser.parseEqual() ||
       parser.parseFloat(zeta) || parser.parseComma() ||
       parser.parseKeyword("gamma") || parser.parseEqual() ||
       parser.parseFloat(gamma)))
    return {};
  if (parser.parseGreater())
    return {};
  return parser.getChecked<SoftmaxAttr>(loc, parser.getContext(), *kind,
                                        APFloat(zeta), APFloat(gamma));
}

void SoftmaxAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifySoftmaxKind(getKind());
  if (getKind() == SoftmaxKind::clipped) {
    printer << " zeta = ";
    printer.printFloat(getZeta());
    printer << ", gamma = ";
    printer.printFloat(getGamma());
  }
  printer << '>';
}

LogicalResult SoftmaxAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  SoftmaxKind kind, APFloat zeta,
                                  APFloat gamma) {
  double z = zeta.convertToDouble(), g = gamma.convertToDouble();
  if (kind == SoftmaxKind::standard && (z != 1.0 || g != 0.0))
    return emitError() << "standard softmax takes no zeta/gamma";
  if (kind == SoftmaxKind::clipped) {
    if (!(z >= 1.0))
      return emitError() << "clipped softmax needs zeta >= 1, got " << z;
    if (!(g <= 0.0))
      return emitError() << "clipped softmax needs gamma <= 0, got " << g;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QuantAttr
//===----------------------------------------------------------------------===//

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t bits, int64_t group, bool) {
  if (bits != 4 && bits != 8)
    return emitError() << "quantization bits must be 4 or 8, got " << bits;
  if (group <= 0)
    return emitError() << "quantization group must be positive, got "
                       << group;
  if (bits == 4 && group % 2 != 0)
    return emitError() << "int4 groups pack two values per byte and must be "
                          "even, got "
                       << group;
  return success();
}
