// Port of tokio tests/macros_select.rs (being written).
#include <gtest/gtest.h>
