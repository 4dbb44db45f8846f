// kyoto::net: TCP, UDP and Unix-domain sockets on io_uring.
/// \namespace kyoto::net
/// TCP, UDP and Unix-domain sockets on io_uring (tokio::net; docs/net.md).
#pragma once

#include <kyoto/net/lookup_host.hpp>
#include <kyoto/net/socket_addr.hpp>
#include <kyoto/net/tcp_listener.hpp>
#include <kyoto/net/tcp_socket.hpp>
#include <kyoto/net/tcp_stream.hpp>
#include <kyoto/net/udp_socket.hpp>
#include <kyoto/net/unix_datagram.hpp>
#include <kyoto/net/unix_listener.hpp>
#include <kyoto/net/unix_socket_addr.hpp>
#include <kyoto/net/unix_stream.hpp>
