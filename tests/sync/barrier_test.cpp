// Port of tokio tests/sync_barrier.rs (being written).
#include <gtest/gtest.h>
