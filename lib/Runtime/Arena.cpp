//===- Arena.cpp - Per-context scratch memory for generated code ----------===//
//
//===----------------------------------------------------------------------===//

#include "Arena.h"

#include <cstdlib>

using namespace kiln::runtime;

namespace {
/// The smallest chunk worth a trip to the system allocator.
constexpr uint64_t kMinChunkSize = 64 * 1024;

/// Rounds `value` up to a multiple of Arena::kAlignment; false on overflow.
bool alignUp(uint64_t value, uint64_t &result) {
  if (value > UINT64_MAX - (Arena::kAlignment - 1))
    return false;
  result = (value + Arena::kAlignment - 1) & ~(Arena::kAlignment - 1);
  return true;
}
} // namespace

Arena::~Arena() { releaseAll(); }

void Arena::releaseAll() {
  for (Chunk &chunk : chunks)
    memory.release(chunk.data);
  chunks.clear();
  current = 0;
  offset = 0;
}

void Arena::reset() {
  current = 0;
  offset = 0;
  usedTotal = 0;
}

uint64_t Arena::capacity() const {
  uint64_t total = 0;
  for (const Chunk &chunk : chunks)
    total += chunk.size;
  return total;
}

bool Arena::addChunk(uint64_t minSize) {
  // Grow geometrically so that a run with many small allocations past the
  // end does not chain a long list of chunks.
  uint64_t size = minSize;
  uint64_t existing = capacity();
  if (size < existing)
    size = existing;
  if (size < kMinChunkSize)
    size = kMinChunkSize;
  if (!alignUp(size, size) || size > SIZE_MAX)
    return false;
  void *data = memory.allocate(size);
  if (!data)
    return false;
  ++systemAllocations;
  chunks.push_back({static_cast<char *>(data), size});
  return true;
}

void *Arena::allocate(uint64_t nbytes) {
  uint64_t aligned;
  if (!alignUp(nbytes, aligned))
    return nullptr;
  // Chunks after `current` were kept from an earlier run only if
  // consolidate() could not merge them; try them before asking the system.
  while (current < chunks.size()) {
    Chunk &chunk = chunks[current];
    if (chunk.size - offset >= aligned) {
      void *result = chunk.data + offset;
      offset += aligned;
      usedTotal += aligned;
      return result;
    }
    ++current;
    offset = 0;
  }
  if (!addChunk(aligned))
    return nullptr;
  current = chunks.size() - 1;
  offset = aligned;
  usedTotal += aligned;
  return chunks[current].data;
}

void Arena::consolidate() {
  if (chunks.size() <= 1)
    return;
  // Slack at the end of each chunk is counted as well: the next run makes
  // the same requests, and sizing by `capacity()` keeps it from chaining.
  uint64_t total = capacity();
  releaseAll();
  // If one block of this size is not available, the next run chains chunks
  // again; that is slower but still correct.
  addChunk(total);
  usedTotal = 0;
}

void *Arena::hostAllocate(uint64_t nbytes) {
  return std::aligned_alloc(kAlignment, static_cast<size_t>(nbytes));
}

void Arena::hostRelease(void *data) { std::free(data); }

void *Arena::allocateThunk(void *arena, uint64_t nbytes) {
  return static_cast<Arena *>(arena)->allocate(nbytes);
}
