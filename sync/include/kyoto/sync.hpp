// kyoto::sync: channels and synchronisation between tasks (tokio's sync).
/// \namespace kyoto::sync
/// Channels and synchronisation between tasks (tokio::sync; docs/sync.md).
#pragma once

#include <kyoto/sync/barrier.hpp>
#include <kyoto/sync/broadcast.hpp>
#include <kyoto/sync/cancellation_token.hpp>
#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/mutex.hpp>
#include <kyoto/sync/notify.hpp>
#include <kyoto/sync/once_cell.hpp>
#include <kyoto/sync/oneshot.hpp>
#include <kyoto/sync/rw_lock.hpp>
#include <kyoto/sync/semaphore.hpp>
#include <kyoto/sync/watch.hpp>
