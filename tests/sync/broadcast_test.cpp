// Port of tokio tests/sync_broadcast.rs (being written).
#include <gtest/gtest.h>
