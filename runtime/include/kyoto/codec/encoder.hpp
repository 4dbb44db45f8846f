// kyoto::codec::encoder: turns items into bytes to write (tokio-util's
// Encoder trait).
//
// An encoder of Item has `void encode(Item item, kyoto::bytes_mut& dst)`,
// which appends the item's bytes to `dst` (or throws codec::codec_error,
// e.g. a frame above the codec's maximum; it should then leave `dst` as it
// was). One type may encode several item types (overloads).
#pragma once

#include <kyoto/bytes/bytes_mut.hpp>

#include <utility>

namespace kyoto::codec {

/// An encoder of Item (tokio-util's Encoder<Item>): `e.encode(item, dst)`
/// appends the encoded item to `dst` (see the file comment).
template <class E, class Item>
concept encoder =
    requires(E& e, Item&& item, bytes_mut& dst) { e.encode(std::forward<Item>(item), dst); };

}  // namespace kyoto::codec
