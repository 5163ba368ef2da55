//===- Checkpoint.cpp - A model's weights across safetensors files --------===//
//
// Sharded checkpoints come with an index whose "weight_map" maps each tensor
// name to the shard holding it. The index is trusted only as far as it
// agrees with the shards' own headers.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/Safetensors/Checkpoint.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

using namespace kiln::safetensors;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string joinPath(StringRef dir, StringRef name) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  return std::string(path);
}

} // namespace

Error Checkpoint::addFile(std::unique_ptr<SafetensorsFile> file) {
  size_t index = fileList.size();
  for (const TensorInfo &tensor : file->tensors()) {
    auto [it, inserted] = owner.try_emplace(tensor.name, index);
    if (!inserted)
      return makeError("tensor '" + tensor.name + "' is in both " +
                       fileList[it->second]->getPath() + " and " +
                       file->getPath());
  }
  fileList.push_back(std::move(file));
  return Error::success();
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef path) {
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->path = path.str();
  std::string file = path.str();
  if (llvm::sys::fs::is_directory(path)) {
    std::string single = joinPath(path, "model.safetensors");
    std::string index = joinPath(path, "model.safetensors.index.json");
    if (llvm::sys::fs::exists(single))
      file = single;
    else if (llvm::sys::fs::exists(index))
      file = index;
    else
      return makeError(path + ": no model.safetensors or "
                              "model.safetensors.index.json in this directory");
  }

  if (!StringRef(file).ends_with(".json")) {
    auto opened = SafetensorsFile::open(file);
    if (!opened)
      return opened.takeError();
    if (Error error = checkpoint->addFile(std::move(*opened)))
      return std::move(error);
    return std::move(checkpoint);
  }

  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/true);
  if (!buffer)
    return makeError("cannot read " + file + ": " +
                     buffer.getError().message());
  Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return makeError(file + ": not valid JSON: " +
                     llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *weightMap =
      root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return makeError(file + ": no \"weight_map\" object (a sharding index "
                            "maps tensor names to shard files)");
  // Shards in first-mention order of a sorted name list, so that the order
  // does not depend on the JSON object's hashing.
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto &[name, shard] : *weightMap) {
    std::optional<StringRef> shardName = shard.getAsString();
    if (!shardName)
      return makeError(file + ": weight_map[\"" + name.str() +
                       "\"] is not a file name");
    if (shardName->contains('/') || *shardName == "..")
      return makeError(file + ": weight_map[\"" + name.str() + "\"] = \"" +
                       *shardName +
                       "\" leaves the checkpoint's directory");
    entries.emplace_back(name.str(), shardName->str());
  }
  llvm::sort(entries);
  llvm::SetVector<StringRef> shards;
  for (const auto &entry : entries)
    shards.insert(entry.second);
  StringRef dir = llvm::sys::path::parent_path(file);
  llvm::StringMap<size_t> shardIndex;
  for (StringRef shard : shards) {
    auto opened = SafetensorsFile::open(joinPath(dir, shard));
    if (!opened)
      return opened.takeError();
    shardIndex[shard] = checkpoint->fileList.size();
    if (Error error = checkpoint->addFile(std::move(*opened)))
      return std::move(error);
  }
  for (const auto &[name, shard] : entries) {
    auto it = checkpoint->owner.find(name);
    if (it == checkpoint->owner.end() || it->second != shardIndex[shard])
      return makeError(file + ": the index puts tensor '" + name + "' in " +
                       shard + " but that shard does not hold it");
  }
  return std::move(checkpoint);
}

const TensorInfo *Checkpoint::lookup(StringRef name) const {
  auto it = owner.find(name);
  return it == owner.end() ? nullptr : fileList[it->second]->lookup(name);
}

StringRef Checkpoint::fileOf(StringRef name) const {
  auto it = owner.find(name);
  return it == owner.end() ? StringRef() : fileList[it->second]->getPath();
}
