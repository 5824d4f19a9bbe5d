#include <gtest/gtest.h>

#include "model/elements.h"

TEST(Elements, KnownSymbols) {
  EXPECT_EQ(mlff::atomic_number("H"), 1);
  EXPECT_EQ(mlff::atomic_number("C"), 6);
  EXPECT_EQ(mlff::atomic_number("Cl"), 17);
  EXPECT_EQ(mlff::atomic_number("Fm"), 100);
  EXPECT_EQ(mlff::atomic_number("Og"), 118);
}

TEST(Elements, UnknownSymbols) {
  EXPECT_EQ(mlff::atomic_number("Xx"), 0);
  EXPECT_EQ(mlff::atomic_number("cl"), 0);
  EXPECT_EQ(mlff::atomic_number(""), 0);
  EXPECT_EQ(mlff::atomic_number("NULL"), 0);
}
