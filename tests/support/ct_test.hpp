// KYOTO_CT_TEST: a KYOTO_TEST on a current_thread runtime, for the tests
// whose point is an exact interleaving of tasks (a task has not run yet, a
// woken task has not resumed yet, "not finished after a few yields"): only
// a single thread makes those deterministic; and for the ports of tokio
// tests that keep #[tokio::test]'s runtime, current_thread (tests/io).
// Everything else runs on the default (multi_thread) KYOTO_TEST.
#pragma once

#include <kyoto/macros/test.hpp>

#define KYOTO_CT_TEST(Suite, Name) \
  KYOTO_TEST_WITH(Suite, Name, ::kyoto::runtime::builder::current_thread())
