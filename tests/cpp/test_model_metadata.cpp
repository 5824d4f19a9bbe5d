#include <gtest/gtest.h>

#include "model/metadata.h"
#include "util/error.h"

namespace {
const char* kValid =
    "format_version=2\nformat=torchscript\nprecision=fp32\ndevice=any\ncutoff=5.0\n"
    "num_interactions=3\nmax_z=100\ndtype=float32\nhidden_dim=128\nghost_exchange=1\n";
}

TEST(ModelMetadata, ParsesValidText) {
  auto meta = mlff::ModelMetadata::parse(kValid);
  EXPECT_EQ(meta.format_version, 2);
  EXPECT_DOUBLE_EQ(meta.cutoff, 5.0);
  EXPECT_EQ(meta.num_interactions, 3);
  EXPECT_EQ(meta.max_z, 100);
  EXPECT_EQ(meta.dtype, "float32");
  EXPECT_DOUBLE_EQ(meta.receptive_field(), 15.0);
  EXPECT_EQ(meta.entries.at("hidden_dim"), "128");
}

// Files that predate exchange_values state hidden_dim: a student exchanges 4 hidden_dim values.
TEST(ModelMetadata, ExchangeRowsOfNewAndOldFiles) {
  const auto old_file = mlff::ModelMetadata::parse(kValid);
  EXPECT_TRUE(old_file.ghost_exchange);
  EXPECT_EQ(old_file.ghost_exchange_words(true), 512);
  EXPECT_EQ(old_file.ghost_exchange_words(false), 256);
  const auto new_file = mlff::ModelMetadata::parse(std::string(kValid) + "exchange_values=7\n");
  EXPECT_EQ(new_file.ghost_exchange_words(true), 7);
  EXPECT_EQ(new_file.ghost_exchange_words(false), 4);
}

TEST(ModelMetadata, RejectsMissingKey) {
  EXPECT_THROW(mlff::ModelMetadata::parse("format_version=2\ncutoff=5\n"), mlff::Error);
}

TEST(ModelMetadata, RejectsOtherFormatVersion) {
  std::string text = kValid;
  // Version 1 files call readout(s) without the atomic numbers.
  text.replace(text.find("format_version=2"), 16, "format_version=1");
  EXPECT_THROW(mlff::ModelMetadata::parse(text), mlff::Error);
}

TEST(ModelMetadata, RejectsMalformedValues) {
  std::string text = kValid;
  text.replace(text.find("cutoff=5.0"), 10, "cutoff=5x0");
  EXPECT_THROW(mlff::ModelMetadata::parse(text), mlff::Error);
  EXPECT_THROW(mlff::ModelMetadata::parse("no equals sign\n"), mlff::Error);
  std::string dtype = kValid;
  dtype.replace(dtype.find("float32"), 7, "int8xyz");
  EXPECT_THROW(mlff::ModelMetadata::parse(dtype), mlff::Error);
}
