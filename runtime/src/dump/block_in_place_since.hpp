// What a task dump learns from kyoto::block_in_place (defined in
// scheduler/multi_thread/block_in_place.cpp, which keeps the list).
#pragma once

#include <cstdint>

namespace kyoto::detail {

class task_header;

/// Whether `task` is inside kyoto::block_in_place now, and if so the state
/// tick (detail/await_point.hpp) of its entry, on the runtime's clock, in
/// `since`: a task dump lists it as blocking since then. Any thread.
bool block_in_place_since(const task_header* task, std::uint32_t& since) noexcept;

}  // namespace kyoto::detail
