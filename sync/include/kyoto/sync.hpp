// kyoto::sync: channels and synchronisation between tasks (tokio's sync).
#pragma once

#include <kyoto/sync/mpsc.hpp>
#include <kyoto/sync/oneshot.hpp>
