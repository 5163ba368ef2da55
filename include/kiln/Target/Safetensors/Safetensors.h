//===- Safetensors.h - safetensors reader and writer ------------*- C++ -*-===//
//
// The compiler side of the safetensors format: kiln-compile reads a model's
// weights with SafetensorsFile and writes the compiled model's
// `model.weights.safetensors` with SafetensorsWriter.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON header, then the data section. The header maps tensor names to
// `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`, with
// offsets relative to the start of the data section, and may hold a
// `"__metadata__"` object of string to string.
//
// The reader validates everything it exposes: every tensor's bytes lie
// inside the data section, match its dtype and shape, and overlap no other
// tensor; names are unique. The writer aligns the data section and every
// tensor to 64 bytes from the start of the file, as the runtime, which mmaps
// the file, expects.
//
// Uses LLVM Support only (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGET_SAFETENSORS_SAFETENSORS_H
#define KILN_TARGET_SAFETENSORS_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln {
namespace safetensors {

/// Element types of safetensors tensors, spelled as in the header.
enum class DType {
  F64,
  F32,
  F16,
  BF16,
  F8E4M3,
  F8E5M2,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  Bool,
};

/// Every DType, in declaration order (for tests and tables).
llvm::ArrayRef<DType> allDTypes();

/// The header spelling of `dtype`: "F32", "BF16", "F8_E4M3", "BOOL", ...
llvm::StringRef dtypeName(DType dtype);

/// Bytes per element of `dtype`.
uint64_t dtypeSize(DType dtype);

/// The DType spelled `name` in a header, or std::nullopt if there is none.
std::optional<DType> parseDType(llvm::StringRef name);

/// The value of an IEEE binary16 bit pattern; exact (subnormals, infinities
/// and NaNs included).
float halfToFloat(uint16_t bits);

/// The value of a bfloat16 bit pattern (the top half of an f32); exact.
float bf16ToFloat(uint16_t bits);

/// Whether `dtype` is F32, F16 or BF16, the dtypes readAsF32 accepts.
bool isWidenableToF32(DType dtype);

/// FNV-1a 64-bit hash (offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3) of `bytes`; the hash the runtime checks for the header.
uint64_t fnv1a64(llvm::ArrayRef<uint8_t> bytes);

/// FNV-1a 64-bit hash of the bytes of `bytes`.
uint64_t fnv1a64(llvm::StringRef bytes);

/// The checksum kiln-compile records for a weights file's data section
/// (metadata `kiln_data_checksum`, docs/Reliability.md): FNV-1a 64 taken
/// over little-endian 64-bit words instead of bytes, eight times fewer
/// multiplies; a final partial word is zero-extended. The runtime has its
/// own copy (lib/Runtime/WeightsFile.cpp).
uint64_t dataChecksum64(llvm::ArrayRef<uint8_t> bytes);

/// The metadata key of dataChecksum64 and the prefix of its value
/// ("fnv1a64w:" then 16 lowercase hex digits).
constexpr llvm::StringLiteral kDataChecksumKey = "kiln_data_checksum";
constexpr llvm::StringLiteral kDataChecksumPrefix = "fnv1a64w:";

/// The safetensors limit on the header length; a larger length field means a
/// corrupt file.
constexpr uint64_t kMaxHeaderSize = 100ull * 1000 * 1000;

/// The alignment SafetensorsWriter gives the data section and every tensor,
/// in bytes from the start of the file.
constexpr uint64_t kWriterAlignment = 64;

/// One tensor of a SafetensorsFile.
struct TensorInfo {
  /// The tensor's name, the header key.
  std::string name;
  /// Element type.
  DType dtype = DType::F32;
  /// Dimensions, outermost first; empty for a scalar.
  llvm::SmallVector<int64_t, 4> shape;
  /// Start of the bytes, relative to the start of the data section
  /// (`data_offsets[0]`).
  uint64_t dataOffset = 0;
  /// Start of the bytes, relative to the start of the file.
  uint64_t fileOffset = 0;
  /// Number of bytes (`data_offsets[1] - data_offsets[0]`).
  uint64_t byteSize = 0;
  /// Number of elements, the product of `shape` (1 for a scalar).
  uint64_t numElements = 0;
  /// The tensor's bytes, a view into the file's buffer. The buffer is
  /// page-aligned when mmapped, so `bytes.data()` is aligned as `fileOffset`
  /// is; small files are read into a heap buffer that is only 16-byte
  /// aligned.
  llvm::ArrayRef<uint8_t> bytes;

  /// The tensor's bytes as a StringRef.
  llvm::StringRef data() const {
    return llvm::StringRef(reinterpret_cast<const char *>(bytes.data()),
                           bytes.size());
  }
};

/// A validated, read-only safetensors file.
///
/// The file is mapped (llvm::MemoryBuffer mmaps files of 16 KiB or more),
/// not copied; every TensorInfo's `bytes` view stays valid while the
/// SafetensorsFile lives.
class SafetensorsFile {
public:
  /// Opens and validates the safetensors file at `path`. Errors name the
  /// file, the tensor and the numbers involved.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(llvm::StringRef path);

  /// Validates the safetensors bytes in `buffer`; errors name the buffer by
  /// its identifier.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// The file name, as given to open() or the buffer's identifier.
  llvm::StringRef getPath() const { return buffer->getBufferIdentifier(); }

  /// The tensors, in the order of the header's keys.
  llvm::ArrayRef<TensorInfo> tensors() const { return tensorList; }

  /// The tensor called `name`, or nullptr if there is none.
  const TensorInfo *lookup(llvm::StringRef name) const;

  /// The `__metadata__` entries, in the order of the header.
  llvm::ArrayRef<std::pair<std::string, std::string>> metadata() const {
    return metadataList;
  }

  /// The `__metadata__` value for `key`, or std::nullopt if absent.
  std::optional<llvm::StringRef> lookupMetadata(llvm::StringRef key) const;

  /// The header bytes after the 8-byte length, trailing padding included.
  llvm::StringRef header() const {
    return buffer->getBuffer().substr(8, headerLength);
  }

  /// FNV-1a 64 of header(), the hash the runtime checks.
  uint64_t headerHash() const { return fnv1a64(header()); }

  /// File offset of the data section: 8 + the header length.
  uint64_t dataSectionOffset() const { return 8 + headerLength; }

  /// Size of the data section: the file size less dataSectionOffset().
  uint64_t dataSectionSize() const {
    return getFileSize() - dataSectionOffset();
  }

  /// Size of the whole file in bytes.
  uint64_t getFileSize() const { return buffer->getBufferSize(); }

private:
  SafetensorsFile(std::unique_ptr<llvm::MemoryBuffer> buffer)
      : buffer(std::move(buffer)) {}

  /// Parses and validates the buffer; fills the tables.
  llvm::Error parse();

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  uint64_t headerLength = 0;
  std::vector<TensorInfo> tensorList;
  llvm::StringMap<size_t> tensorIndex;
  std::vector<std::pair<std::string, std::string>> metadataList;
};

/// The elements of an F32, F16 or BF16 tensor as f32, outermost dimension
/// first; half-precision values are widened exactly. std::nullopt for any
/// other dtype.
std::optional<std::vector<float>> readAsF32(const TensorInfo &tensor);

/// Where SafetensorsWriter puts things; fixed by the tensors and metadata
/// added so far.
struct SafetensorsLayout {
  /// The header bytes after the 8-byte length: JSON padded with spaces.
  std::string header;
  /// File offset of the data section (8 + header.size()), a multiple of
  /// kWriterAlignment.
  uint64_t dataSectionOffset = 0;
  /// Per tensor in insertion order, its offset from the start of the data
  /// section (`data_offsets[0]`), a multiple of kWriterAlignment.
  std::vector<uint64_t> tensorOffsets;
  /// Size of the whole file.
  uint64_t fileSize = 0;
  /// FNV-1a 64 of `header`.
  uint64_t headerHash = 0;
};

/// Builds a safetensors file whose data section and tensors are aligned to
/// kWriterAlignment bytes from the start of the file.
///
/// Output is deterministic: header keys are written in insertion order
/// (`__metadata__` first when there is metadata), tensors' data in insertion
/// order, padding is spaces in the header and zero bytes between tensors.
class SafetensorsWriter {
public:
  /// Adds a tensor and copies its bytes. Fails if the name is empty, not
  /// UTF-8, `__metadata__` or already added, if a dim is negative, or if
  /// `bytes` is not product(shape) * dtypeSize(dtype) bytes long.
  llvm::Error addTensor(llvm::StringRef name, DType dtype,
                        llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<uint8_t> bytes);

  /// As addTensor, but keeps a reference to `bytes`, which must stay alive
  /// and unchanged until the last write().
  llvm::Error addTensorRef(llvm::StringRef name, DType dtype,
                           llvm::ArrayRef<int64_t> shape,
                           llvm::ArrayRef<uint8_t> bytes);

  /// Sets `__metadata__[key]` to `value`, replacing an earlier value in
  /// place. Fails if either is not valid UTF-8.
  llvm::Error setMetadata(llvm::StringRef key, llvm::StringRef value);

  /// Number of tensors added.
  size_t size() const { return entries.size(); }

  /// The layout write() produces for the tensors and metadata added so far.
  const SafetensorsLayout &getLayout() const;

  /// FNV-1a 64 of the header write() produces (getLayout().headerHash).
  uint64_t headerHash() const { return getLayout().headerHash; }

  /// Size of the file write() produces (getLayout().fileSize).
  uint64_t fileSize() const { return getLayout().fileSize; }

  /// dataChecksum64 of the data section write() produces. Metadata does
  /// not change the data section, so it may be set afterwards.
  uint64_t dataChecksum() const;

  /// Offset from the start of the data section of the tensor called `name`,
  /// or std::nullopt if there is none.
  std::optional<uint64_t> tensorOffset(llvm::StringRef name) const;

  /// Writes the file to `path` atomically: to a unique temporary file next
  /// to it, renamed over `path` once complete.
  llvm::Error write(llvm::StringRef path) const;

  /// Writes the file's bytes to `os`.
  void write(llvm::raw_ostream &os) const;

private:
  /// One added tensor.
  struct Entry {
    std::string name;
    DType dtype;
    llvm::SmallVector<int64_t, 4> shape;
    /// Copied bytes; used when `borrowed` is not set.
    std::vector<uint8_t> owned;
    /// Referenced bytes (addTensorRef).
    std::optional<llvm::ArrayRef<uint8_t>> borrowed;

    /// The tensor's bytes, wherever they live.
    llvm::ArrayRef<uint8_t> bytes() const {
      return borrowed ? *borrowed : llvm::ArrayRef<uint8_t>(owned);
    }
  };

  /// Checks and appends a tensor; `copy` selects addTensor's behaviour.
  llvm::Error add(llvm::StringRef name, DType dtype,
                  llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<uint8_t> bytes,
                  bool copy);

  std::vector<Entry> entries;
  llvm::StringMap<size_t> entryIndex;
  std::vector<std::pair<std::string, std::string>> metadataList;
  /// getLayout()'s cache, reset whenever the contents change.
  mutable std::optional<SafetensorsLayout> cachedLayout;
};

} // namespace safetensors
} // namespace kiln

#endif // KILN_TARGET_SAFETENSORS_SAFETENSORS_H
