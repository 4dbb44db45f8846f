// Being ported from tokio 1.24 tests/; see the issue.
#include <gtest/gtest.h>
