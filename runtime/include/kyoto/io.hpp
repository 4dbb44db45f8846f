// kyoto::io: tokio's AsyncRead/AsyncWrite utilities over any kyoto stream
// (docs/io.md). Each piece also has its own header.
/// \namespace kyoto::io
/// tokio's AsyncRead/AsyncWrite utilities over any kyoto stream (tokio::io;
/// docs/io.md).
#pragma once

#include <kyoto/io/buf_reader.hpp>
#include <kyoto/io/buf_writer.hpp>
#include <kyoto/io/concepts.hpp>
#include <kyoto/io/copy.hpp>
#include <kyoto/io/duplex.hpp>
#include <kyoto/io/empty.hpp>
#include <kyoto/io/error.hpp>
#include <kyoto/io/read_buf.hpp>
#include <kyoto/io/read_ext.hpp>
#include <kyoto/io/read_int.hpp>
#include <kyoto/io/repeat.hpp>
#include <kyoto/io/sink.hpp>
#include <kyoto/io/split.hpp>
#include <kyoto/io/stdio.hpp>
#include <kyoto/io/write_buf.hpp>
#include <kyoto/io/write_ext.hpp>
#include <kyoto/io/write_int.hpp>
