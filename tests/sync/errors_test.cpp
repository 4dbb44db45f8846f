// Port of tokio tests/sync_errors.rs (being written).
#include <gtest/gtest.h>
