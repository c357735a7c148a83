#include "net/fd.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <memory>

namespace nethttp::net {
namespace {

constexpr std::size_t kChunk = 4096;
constexpr std::size_t kChunks = 512;  // descriptors below 2M are counted

using Chunk = std::array<std::atomic<std::uint32_t>, kChunk>;
std::array<std::atomic<Chunk*>, kChunks> g_generations{};

/// The counter of `fd`, made on first use; null beyond the table.
std::atomic<std::uint32_t>* generation_slot(int fd, bool create) noexcept {
  const auto index = static_cast<std::size_t>(fd);
  if (index / kChunk >= kChunks) return nullptr;
  std::atomic<Chunk*>& chunk = g_generations[index / kChunk];
  Chunk* c = chunk.load(std::memory_order_acquire);
  if (c == nullptr) {
    if (!create) return nullptr;
    auto fresh = std::unique_ptr<Chunk>(new (std::nothrow) Chunk{});
    if (!fresh) return nullptr;
    if (chunk.compare_exchange_strong(c, fresh.get(), std::memory_order_acq_rel)) {
      c = fresh.release();  // kept for the life of the process
    }
  }
  return &(*c)[index % kChunk];
}

}  // namespace

std::optional<std::uint32_t> fd_generation(int fd) noexcept {
  if (static_cast<std::size_t>(fd) / kChunk >= kChunks) return std::nullopt;
  std::atomic<std::uint32_t>* slot = generation_slot(fd, /*create=*/false);
  return slot != nullptr ? slot->load(std::memory_order_acquire) : 0;
}

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    // Counted on both sides of close(): whoever reads the same number on
    // either side knows a watch it set up for it may be gone.
    std::atomic<std::uint32_t>* generation = generation_slot(fd_, /*create=*/true);
    if (generation != nullptr) generation->fetch_add(1, std::memory_order_acq_rel);
    // close() is not retried on EINTR: on Linux the descriptor is released anyway.
    ::close(fd_);
    if (generation != nullptr) generation->fetch_add(1, std::memory_order_acq_rel);
  }
  fd_ = fd;
}

}  // namespace nethttp::net
