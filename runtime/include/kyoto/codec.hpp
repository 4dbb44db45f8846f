// kyoto::codec: framing byte streams into frames and back (tokio-util's
// codec module; docs/codec.md). Each piece also has its own header.
/// \namespace kyoto::codec
/// Framing byte streams into frames and back (tokio-util's codec module;
/// docs/codec.md).
#pragma once

#include <kyoto/codec/any_delimiter_codec.hpp>
#include <kyoto/codec/bytes_codec.hpp>
#include <kyoto/codec/codec_error.hpp>
#include <kyoto/codec/decoder.hpp>
#include <kyoto/codec/encoder.hpp>
#include <kyoto/codec/framed.hpp>
#include <kyoto/codec/framed_read.hpp>
#include <kyoto/codec/framed_write.hpp>
#include <kyoto/codec/length_delimited_codec.hpp>
#include <kyoto/codec/lines_codec.hpp>
