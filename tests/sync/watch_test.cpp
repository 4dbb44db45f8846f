// Port of tokio tests/sync_watch.rs (being written).
#include <gtest/gtest.h>
