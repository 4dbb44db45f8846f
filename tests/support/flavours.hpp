// Test helper: the runtime flavours tokio's rt_common.rs runs each test on
// (current_thread, multi_thread with 1 and with 4 workers), for
// value-parameterized GoogleTest suites:
//
//   class RtCommon : public ::testing::TestWithParam<kyoto::test::flavour> {};
//   TEST_P(RtCommon, Something) { kyoto::runtime rt = make_runtime(GetParam()); ... }
//   KYOTO_INSTANTIATE_FLAVOURS(RtCommon);
#pragma once

#include <kyoto/runtime/runtime.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace kyoto::test {

enum class flavour : std::uint8_t { current_thread, one_worker, four_workers };

/// tokio's new_current_thread() / new_multi_thread(1) / new_multi_thread(4).
inline kyoto::runtime make_runtime(flavour f) {
  switch (f) {
    case flavour::current_thread:
      return kyoto::runtime::builder::current_thread().enable_all().build();
    case flavour::one_worker:
      return kyoto::runtime::builder::multi_thread().worker_threads(1).enable_all().build();
    case flavour::four_workers:
      break;
  }
  return kyoto::runtime::builder::multi_thread().worker_threads(4).enable_all().build();
}

inline std::string flavour_name(const ::testing::TestParamInfo<flavour>& info) {
  switch (info.param) {
    case flavour::current_thread:
      return "CurrentThread";
    case flavour::one_worker:
      return "MultiThread1";
    case flavour::four_workers:
      break;
  }
  return "MultiThread4";
}

}  // namespace kyoto::test

/// Runs the TEST_P cases of `suite` on every flavour.
#define KYOTO_INSTANTIATE_FLAVOURS(suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(                                                                        \
      Flavours, suite,                                                                             \
      ::testing::Values(::kyoto::test::flavour::current_thread,                                    \
                        ::kyoto::test::flavour::one_worker, ::kyoto::test::flavour::four_workers), \
      ::kyoto::test::flavour_name)
