//===- SparseWeights.cpp - Sparse weight analysis and encodings -----------===//
//
// Part of Kiln. See SparseWeights.h.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/SparseWeights.h"
#include "kiln/Target/Safetensors/Safetensors.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace kiln;
using namespace kiln::sparse;
namespace st = kiln::safetensors;

namespace {

template <typename T>
std::vector<uint8_t> toBytes(const std::vector<T> &values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

} // namespace

llvm::Expected<std::vector<float>>
sparse::readMatrixAsF32(const st::TensorInfo &tensor) {
  if (tensor.shape.size() != 2)
    return llvm::createStringError("weight '" + tensor.name +
                                   "' is not 2-D");
  std::optional<std::vector<float>> values = st::readAsF32(tensor);
  if (!values)
    return llvm::createStringError("weight '" + tensor.name + "' has dtype " +
                                   st::dtypeName(tensor.dtype).str() +
                                   "; sparse forms need F32, F16 or BF16");
  return std::move(*values);
}

double sparse::elementDensity(const Matrix &m) {
  if (m.data.empty())
    return 0.0;
  int64_t nonzero = 0;
  for (float v : m.data)
    nonzero += v != 0.0f;
  return double(nonzero) / double(m.data.size());
}

bool sparse::isTwoFour(const Matrix &m) {
  if (m.cols % 8 != 0)
    return false;
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t g = 0; g < m.cols; g += 4) {
      int nonzero = 0;
      for (int64_t i = 0; i < 4; ++i)
        nonzero += m.at(r, g + i) != 0.0f;
      if (nonzero > 2)
        return false;
    }
  return true;
}

int64_t sparse::countNonzeroBlocks(const Matrix &m, int64_t blockRows,
                                   int64_t blockCols) {
  int64_t count = 0;
  for (int64_t br = 0; br < m.rows; br += blockRows)
    for (int64_t bc = 0; bc < m.cols; bc += blockCols) {
      bool nonzero = false;
      for (int64_t r = br; r < br + blockRows && !nonzero; ++r)
        for (int64_t c = bc; c < bc + blockCols && !nonzero; ++c)
          nonzero = m.at(r, c) != 0.0f;
      count += nonzero;
    }
  return count;
}

std::string Encoding::str() const {
  static const char *const parts[] = {"values", "columns", "offsets", "meta"};
  std::string prefix =
      kind == Kind::TwoFour ? "2:4"
                            : "bsr" + std::to_string(blockRows) + "x" +
                                  std::to_string(blockCols);
  return prefix + "." + parts[static_cast<int>(part)];
}

std::optional<Encoding> Encoding::parse(llvm::StringRef text) {
  auto [form, partName] = text.rsplit('.');
  Encoding encoding;
  if (form == "2:4") {
    encoding.kind = Kind::TwoFour;
    if (partName == "values")
      encoding.part = Part::Values;
    else if (partName == "meta")
      encoding.part = Part::Meta;
    else
      return std::nullopt;
    return encoding;
  }
  if (!form.consume_front("bsr"))
    return std::nullopt;
  auto [r, c] = form.split('x');
  if (r.getAsInteger(10, encoding.blockRows) ||
      c.getAsInteger(10, encoding.blockCols) || encoding.blockRows < 1 ||
      encoding.blockCols < 1)
    return std::nullopt;
  if (partName == "values")
    encoding.part = Part::Values;
  else if (partName == "columns")
    encoding.part = Part::Columns;
  else if (partName == "offsets")
    encoding.part = Part::Offsets;
  else
    return std::nullopt;
  return encoding;
}

llvm::Expected<EncodedTensor> sparse::encode(const Matrix &m,
                                             const Encoding &encoding) {
  EncodedTensor out;
  if (encoding.kind == Encoding::Kind::TwoFour) {
    if (!isTwoFour(m))
      return llvm::createStringError(
          "is not 2:4 sparse (a group of 4 inputs has more than 2 non-zeros, "
          "or the input features are not a multiple of 8)");
    int64_t half = m.cols / 2;
    std::vector<float> values(m.rows * half, 0.0f);
    std::vector<int8_t> meta(m.rows * (half / 4), 0);
    for (int64_t r = 0; r < m.rows; ++r)
      for (int64_t g = 0; g < m.cols / 4; ++g) {
        // The non-zero positions, then zero positions to fill two slots.
        int64_t picked[2], count = 0;
        for (int64_t i = 0; i < 4 && count < 2; ++i)
          if (m.at(r, 4 * g + i) != 0.0f)
            picked[count++] = i;
        for (int64_t i = 0; i < 4 && count < 2; ++i)
          if (m.at(r, 4 * g + i) == 0.0f && (count == 0 || picked[0] != i))
            picked[count++] = i;
        if (picked[0] > picked[1])
          std::swap(picked[0], picked[1]);
        for (int64_t j = 0; j < 2; ++j) {
          int64_t slot = 2 * g + j;
          values[r * half + slot] = m.at(r, 4 * g + picked[j]);
          uint8_t &byte =
              reinterpret_cast<uint8_t &>(meta[r * (half / 4) + slot / 4]);
          byte |= uint8_t(picked[j] << (2 * (slot % 4)));
        }
      }
    if (encoding.part == Encoding::Part::Values) {
      out.dtype = "F32";
      out.shape = {m.rows, half};
      out.bytes = toBytes(values);
    } else {
      out.dtype = "I8";
      out.shape = {m.rows, half / 4};
      out.bytes = toBytes(meta);
    }
    return out;
  }

  int64_t br = encoding.blockRows, bc = encoding.blockCols;
  if (m.rows % br != 0 || m.cols % bc != 0)
    return llvm::createStringError(
        "has shape [" + std::to_string(m.rows) + ", " +
        std::to_string(m.cols) + "], which " + std::to_string(br) + "x" +
        std::to_string(bc) + " blocks do not divide");
  std::vector<float> values;
  std::vector<int32_t> columns, offsets{0};
  for (int64_t r0 = 0; r0 < m.rows; r0 += br) {
    for (int64_t c0 = 0; c0 < m.cols; c0 += bc) {
      bool nonzero = false;
      for (int64_t r = r0; r < r0 + br && !nonzero; ++r)
        for (int64_t c = c0; c < c0 + bc && !nonzero; ++c)
          nonzero = m.at(r, c) != 0.0f;
      if (!nonzero)
        continue;
      columns.push_back(int32_t(c0 / bc));
      for (int64_t r = r0; r < r0 + br; ++r)
        for (int64_t c = c0; c < c0 + bc; ++c)
          values.push_back(m.at(r, c));
    }
    offsets.push_back(int32_t(columns.size()));
  }
  int64_t blocks = columns.size();
  switch (encoding.part) {
  case Encoding::Part::Values:
    out.dtype = "F32";
    out.shape = {blocks, br, bc};
    out.bytes = toBytes(values);
    break;
  case Encoding::Part::Columns:
    out.dtype = "I32";
    out.shape = {blocks};
    out.bytes = toBytes(columns);
    break;
  default:
    out.dtype = "I32";
    out.shape = {int64_t(offsets.size())};
    out.bytes = toBytes(offsets);
    break;
  }
  return out;
}
