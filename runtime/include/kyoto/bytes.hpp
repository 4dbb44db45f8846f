// kyoto's port of the Rust `bytes` crate (docs/bytes.md): kyoto::bytes,
// kyoto::bytes_mut, the buf / buf_mut accessors, buf_chain and buf_take.
// Each piece also has its own header under <kyoto/bytes/>.
#pragma once

#include <kyoto/bytes/buf.hpp>
#include <kyoto/bytes/buf_chain.hpp>
#include <kyoto/bytes/buf_take.hpp>
#include <kyoto/bytes/bytes.hpp>
#include <kyoto/bytes/bytes_mut.hpp>
