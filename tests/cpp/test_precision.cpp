#include <gtest/gtest.h>

#include "model/precision.h"
#include "util/error.h"

TEST(Precision, NamesRoundTrip) {
  for (const char* name : {"fp64", "fp32", "tf32", "fp16", "bf16"})
    EXPECT_EQ(mlff::precision_name(mlff::parse_precision(name)), name);
  EXPECT_EQ(mlff::device_name(mlff::parse_device("cuda")), "cuda");
  EXPECT_EQ(mlff::device_name(mlff::parse_device("cpu")), "cpu");
}

TEST(Precision, RejectsUnknownNames) {
  EXPECT_THROW(mlff::parse_precision("fp8"), mlff::Error);
  EXPECT_THROW(mlff::parse_precision("FP32"), mlff::Error);
  EXPECT_THROW(mlff::parse_device("gpu"), mlff::Error);
}
