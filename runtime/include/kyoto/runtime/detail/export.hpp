// KYOTO_EXPORT: what libkyoto.so exports.
//
// The library is compiled with hidden visibility (meson's
// gnu_symbol_visibility: 'hidden'), so a shared libkyoto exports only what
// is marked here: the classes and functions of the public headers that are
// defined in the library's sources (what users call, directly or through
// the headers' inline and template code), and the few inline variables the
// headers share with the library (a hidden copy inside libkyoto.so would be
// a second variable, invisible to the user's copy). The scheduler, the
// driver, the reactor and every other internal under runtime/src stay
// hidden. A public declaration defined in a .cpp file needs KYOTO_EXPORT;
// scripts/check-exports lists the ones that lack it. In a static libkyoto
// the attribute changes nothing.
#pragma once

#define KYOTO_EXPORT [[gnu::visibility("default")]]
