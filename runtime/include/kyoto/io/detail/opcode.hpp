// The io_uring requests kyoto submits: each opcode (enum io_uring_op) and
// the name an error gives it, in one table. Spelled here so that public
// headers need not include liburing; src/io/reactor.cpp, the one file that
// includes it, checks every value against liburing's.
#pragma once

#include <cstdint>

namespace kyoto::detail {

/// IORING_OP_* values, by name.
namespace opcode {
inline constexpr std::uint8_t fsync = 3;
inline constexpr std::uint8_t sendmsg = 9;
inline constexpr std::uint8_t recvmsg = 10;
inline constexpr std::uint8_t accept = 13;
inline constexpr std::uint8_t connect = 16;
inline constexpr std::uint8_t openat = 18;
inline constexpr std::uint8_t close = 19;
inline constexpr std::uint8_t statx = 21;
inline constexpr std::uint8_t read = 22;
inline constexpr std::uint8_t write = 23;
inline constexpr std::uint8_t send = 26;
inline constexpr std::uint8_t recv = 27;
inline constexpr std::uint8_t shutdown = 34;
inline constexpr std::uint8_t renameat = 35;
inline constexpr std::uint8_t unlinkat = 36;
inline constexpr std::uint8_t mkdirat = 37;
inline constexpr std::uint8_t symlinkat = 38;
inline constexpr std::uint8_t linkat = 39;
/// Linux 6.9+ (newer than the liburing kyoto builds against, so not
/// checked): older kernels complete it with -EINVAL, and file::set_len
/// falls back to ftruncate(2).
inline constexpr std::uint8_t ftruncate = 55;
/// Readiness of a descriptor (a child's pidfd, for process::child::wait).
inline constexpr std::uint8_t poll_add = 6;
}  // namespace opcode

/// IORING_FSYNC_DATASYNC, the fsync request's flag: fdatasync rather than
/// fsync.
inline constexpr std::uint32_t fsync_datasync = 1;

/// What an error calls a request, by opcode.
struct request_kind {
  std::uint8_t code;  ///< the opcode
  const char* name;   ///< "kyoto: an I/O request (<name>)"
};

/// Every opcode above with its name.
inline constexpr request_kind request_kinds[] = {
    {opcode::fsync, "kyoto: an I/O request (fsync)"},
    {opcode::sendmsg, "kyoto: an I/O request (sendmsg)"},
    {opcode::recvmsg, "kyoto: an I/O request (recvmsg)"},
    {opcode::accept, "kyoto: an I/O request (accept)"},
    {opcode::connect, "kyoto: an I/O request (connect)"},
    {opcode::openat, "kyoto: an I/O request (openat)"},
    {opcode::close, "kyoto: an I/O request (close)"},
    {opcode::statx, "kyoto: an I/O request (statx)"},
    {opcode::read, "kyoto: an I/O request (read)"},
    {opcode::write, "kyoto: an I/O request (write)"},
    {opcode::send, "kyoto: an I/O request (send)"},
    {opcode::recv, "kyoto: an I/O request (recv)"},
    {opcode::shutdown, "kyoto: an I/O request (shutdown)"},
    {opcode::renameat, "kyoto: an I/O request (renameat)"},
    {opcode::unlinkat, "kyoto: an I/O request (unlinkat)"},
    {opcode::mkdirat, "kyoto: an I/O request (mkdirat)"},
    {opcode::symlinkat, "kyoto: an I/O request (symlinkat)"},
    {opcode::linkat, "kyoto: an I/O request (linkat)"},
    {opcode::ftruncate, "kyoto: an I/O request (ftruncate)"},
    {opcode::poll_add, "kyoto: an I/O request (poll_add)"},
};

/// The name of a request with opcode `code`, for error messages.
constexpr const char* request_name(std::uint8_t code) noexcept {
  for (const request_kind& k : request_kinds) {
    if (k.code == code) return k.name;
  }
  return "kyoto: an I/O request";
}

}  // namespace kyoto::detail
