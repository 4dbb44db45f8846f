// Port of tokio tests (being written).
#include <gtest/gtest.h>
