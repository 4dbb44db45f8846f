// Port of tokio tests/sync_mutex.rs (being written).
#include <gtest/gtest.h>
