// kyoto::net::lookup_host: name resolution without blocking a worker
// (tokio::net::lookup_host).
#pragma once

#include <kyoto/net/socket_addr.hpp>
#include <kyoto/runtime/task.hpp>

#include <kyoto/runtime/detail/export.hpp>

#include <string>
#include <system_error>
#include <vector>

namespace kyoto::net {

/// The category of getaddrinfo's EAI_* errors ("kyoto.resolve").
KYOTO_EXPORT const std::error_category& resolve_category() noexcept;

/// Resolves "host:port" ("localhost:80", "[::1]:80", "10.0.0.1:80") to its
/// addresses, in getaddrinfo's order. A numeric address is returned without
/// a lookup; a name is resolved by getaddrinfo on the blocking pool
/// (spawn_blocking), so no worker blocks. Throws std::invalid_argument for
/// text without a port, std::system_error (resolve_category) when the name
/// does not resolve. Cancel safe (an abandoned lookup finishes on the pool).
KYOTO_EXPORT task<std::vector<socket_addr>> lookup_host(std::string host_port);

}  // namespace kyoto::net
