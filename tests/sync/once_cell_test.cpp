// Port of tokio tests/sync_once_cell.rs (being written).
#include <gtest/gtest.h>
