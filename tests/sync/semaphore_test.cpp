// Port of tokio tests/sync_semaphore.rs (being written).
#include <gtest/gtest.h>
