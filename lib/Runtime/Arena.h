//===- Arena.h - Per-context scratch memory for generated code --*- C++ -*-===//
//
// Generated code asks for scratch memory through kiln_abi_call::alloc. The
// arena hands out 64-byte aligned slices of one block; when a run needs more,
// it chains extra chunks for the rest of that run and afterwards replaces all
// chunks with one block big enough for the whole run, so that repeated runs
// of the same size never reach malloc.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_ARENA_H
#define KILN_LIB_RUNTIME_ARENA_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln {
namespace runtime {

/// A bump allocator reset at the start of every run.
class Arena {
public:
  /// Every pointer the arena returns is aligned to this many bytes.
  static constexpr uint64_t kAlignment = 64;

  /// Where an arena's chunks come from: the host heap by default, device
  /// memory for a CUDA context. `allocate` returns null when out of memory;
  /// returned memory must be 64-byte aligned.
  struct SystemMemory {
    void *(*allocate)(uint64_t nbytes);
    void (*release)(void *data);
  };

  Arena() = default;
  explicit Arena(SystemMemory memory) : memory(memory) {}
  ~Arena();
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  /// Forgets every allocation of the previous run; keeps the memory.
  void reset();

  /// Returns `nbytes` of 64-byte aligned memory, or nullptr when the system
  /// is out of memory or the request overflows.
  void *allocate(uint64_t nbytes);

  /// Coalesces the chunks a run needed into one block, so that the next run
  /// of the same size allocates nothing. Called after every run.
  void consolidate();

  /// Bytes the arena owns right now.
  uint64_t capacity() const;

  /// Bytes handed out (alignment included) since the last reset.
  uint64_t used() const { return usedTotal; }

  /// How many times the arena has asked the system for memory.
  uint64_t numSystemAllocations() const { return systemAllocations; }

  /// The C entry point stored in kiln_abi_call::alloc; `arena` is an Arena.
  static void *allocateThunk(void *arena, uint64_t nbytes);

private:
  struct Chunk {
    char *data;
    uint64_t size;
  };

  bool addChunk(uint64_t minSize);
  void releaseAll();

  static void *hostAllocate(uint64_t nbytes);
  static void hostRelease(void *data);

  SystemMemory memory = {&hostAllocate, &hostRelease};
  std::vector<Chunk> chunks;
  /// Index into `chunks` of the chunk being bumped.
  size_t current = 0;
  /// Offset of the next free byte in the current chunk.
  uint64_t offset = 0;
  uint64_t usedTotal = 0;
  uint64_t systemAllocations = 0;
};

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_ARENA_H
