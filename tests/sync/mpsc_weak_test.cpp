// Port of tokio tests/sync_mpsc_weak.rs (being written).
#include <gtest/gtest.h>
