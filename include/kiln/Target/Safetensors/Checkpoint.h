//===- Checkpoint.h - A model's weights across safetensors files -*- C++ -*-===//
//
// A checkpoint is one safetensors file or a set of shards named by a
// `model.safetensors.index.json` (Hugging Face's sharded layout). Callers
// look tensors up by name without caring which file holds them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_SAFETENSORS_CHECKPOINT_H
#define KILN_TARGET_SAFETENSORS_CHECKPOINT_H

#include "kiln/Target/Safetensors/Safetensors.h"

#include "llvm/ADT/StringMap.h"

namespace kiln {
namespace safetensors {

/// The tensors of one or more validated safetensors files, by name.
class Checkpoint {
public:
  /// Opens `path`: a `.safetensors` file, a `*.index.json` sharding index,
  /// or a directory holding `model.safetensors` or
  /// `model.safetensors.index.json`. Every shard is opened and validated;
  /// a tensor the index maps to a shard that lacks it, or a tensor present
  /// in two shards, is an error.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef path);

  /// The tensor called `name`, or nullptr.
  const TensorInfo *lookup(llvm::StringRef name) const;
  /// The file holding `name` (for messages); empty if there is none.
  llvm::StringRef fileOf(llvm::StringRef name) const;
  /// What was opened: the file, the index or the directory.
  llvm::StringRef getPath() const { return path; }
  /// The opened files, in shard order.
  llvm::ArrayRef<std::unique_ptr<SafetensorsFile>> files() const {
    return fileList;
  }

private:
  Checkpoint() = default;
  llvm::Error addFile(std::unique_ptr<SafetensorsFile> file);

  std::string path;
  std::vector<std::unique_ptr<SafetensorsFile>> fileList;
  /// Tensor name -> index into fileList.
  llvm::StringMap<size_t> owner;
};

} // namespace safetensors
} // namespace kiln

#endif // KILN_TARGET_SAFETENSORS_CHECKPOINT_H
