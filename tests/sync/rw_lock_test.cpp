// Port of tokio tests/sync_rw_lock.rs (being written).
#include <gtest/gtest.h>
