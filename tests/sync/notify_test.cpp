// Port of tokio tests/sync_notify.rs (being written).
#include <gtest/gtest.h>
