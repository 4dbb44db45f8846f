// Counts every allocation of a test program: a replacement operator new
// and the helpers that read the count. Defines the replacement functions,
// so include it in exactly ONE translation unit of a program (the test
// executables that use it are one source file each). A sanitizer runtime
// defines operator new itself: build such a test only without sanitizers
// (`get_option('b_sanitize') == 'none'` in its meson.build).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace kyoto::test {

/// Allocations through operator new so far in this program (any thread).
inline std::atomic<long> allocation_count{0};

/// Allocations made while running `f` (counting every thread's).
template <class F>
long allocations_during(F&& f) {
  const long before = allocation_count.load(std::memory_order_relaxed);
  f();
  return allocation_count.load(std::memory_order_relaxed) - before;
}

/// Whether the replacement below is the operator new in use: a test skips
/// itself when it is not (GTEST_SKIP), instead of asserting on nothing.
inline bool counting_allocations() {
  return allocations_during([] { ::operator delete(::operator new(1)); }) == 1;
}

}  // namespace kyoto::test

// Relaxed: a counter; the tests read it on the thread that allocated, or
// after joining the others.
void* operator new(std::size_t n) {
  kyoto::test::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
