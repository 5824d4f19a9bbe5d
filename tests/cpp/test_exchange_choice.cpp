#include <gtest/gtest.h>

#include "exchange/choice.h"
#include "util/error.h"

namespace {

using mlff::ExchangeChoice;
using mlff::ExchangeFacts;
using mlff::GhostMode;
using mlff::Transport;

ExchangeFacts two_ranks() {
  ExchangeFacts f;
  f.ranks = 2;
  f.model_has_exchange = true;
  f.model_name = "model.pt";
  return f;
}

TEST(ExchangeChoice, OneRankFoldsGhosts) {
  ExchangeFacts f = two_ranks();
  f.ranks = 1;
  const ExchangeChoice c = mlff::choose_exchange(f);
  EXPECT_EQ(c.ghosts, GhostMode::Fold);
  EXPECT_FALSE(c.ghost_nodes());
  EXPECT_EQ(c.note, ExchangeChoice::Note::None);
}

TEST(ExchangeChoice, SeveralHostRanksExchangeThroughLammps) {
  const ExchangeChoice c = mlff::choose_exchange(two_ranks());
  EXPECT_EQ(c.ghosts, GhostMode::Exchange);
  EXPECT_EQ(c.transport, Transport::Lammps);
}

TEST(ExchangeChoice, GpusOfTheirOwnTakeNccl) {
  ExchangeFacts f = two_ranks();
  f.rows_on_gpu = f.nccl_built = f.nccl_usable = true;
  const ExchangeChoice c = mlff::choose_exchange(f);
  EXPECT_EQ(c.ghosts, GhostMode::Exchange);
  EXPECT_EQ(c.transport, Transport::Nccl);
}

TEST(ExchangeChoice, RowsThroughHostMemoryTakeTheDeepShell) {
  ExchangeFacts f = two_ranks();
  f.rows_on_gpu = true;  // no NCCL, LAMMPS's communication on the host
  ExchangeChoice c = mlff::choose_exchange(f);
  EXPECT_EQ(c.ghosts, GhostMode::Deep);
  EXPECT_EQ(c.note, ExchangeChoice::Note::RowsThroughHost);
  f.engine_comm_on_device = true;  // GPU-aware MPI: the swaps stay on the device
  c = mlff::choose_exchange(f);
  EXPECT_EQ(c.ghosts, GhostMode::Exchange);
  EXPECT_EQ(c.transport, Transport::Lammps);
  f.engine_comm_on_device = false;
  f.ghosts_asked = GhostMode::Exchange;  // asked for: honoured
  EXPECT_EQ(mlff::choose_exchange(f).ghosts, GhostMode::Exchange);
}

TEST(ExchangeChoice, FilesWithoutTheEntryTakeTheDeepShellOrAreRefused) {
  ExchangeFacts f = two_ranks();
  f.model_has_exchange = false;
  const ExchangeChoice c = mlff::choose_exchange(f);
  EXPECT_EQ(c.ghosts, GhostMode::Deep);
  EXPECT_EQ(c.note, ExchangeChoice::Note::NoExchangeEntry);
  f.ghosts_asked = GhostMode::Exchange;
  EXPECT_THROW(mlff::choose_exchange(f), mlff::Error);
}

TEST(ExchangeChoice, AskedTransportsAndTheirLimits) {
  ExchangeFacts f = two_ranks();
  f.transport_asked = Transport::Mpi;
  EXPECT_EQ(mlff::choose_exchange(f).transport, Transport::Mpi);
  f.transport_asked = Transport::Nccl;
  EXPECT_THROW(mlff::choose_exchange(f), mlff::Error);  // no NCCL built
  f.nccl_built = true;
  EXPECT_THROW(mlff::choose_exchange(f), mlff::Error);  // rows on the host
  f.rows_on_gpu = true;
  EXPECT_EQ(mlff::choose_exchange(f).transport, Transport::Nccl);
}

TEST(ExchangeChoice, DeepAskedOnOneRankKeepsGhostNodes) {
  ExchangeFacts f = two_ranks();
  f.ranks = 1;
  f.ghosts_asked = GhostMode::Deep;
  EXPECT_EQ(mlff::choose_exchange(f).ghosts, GhostMode::Deep);
  f.ghosts_asked = GhostMode::Exchange;
  EXPECT_EQ(mlff::choose_exchange(f).ghosts, GhostMode::Exchange);
}

TEST(ExchangeChoice, KeywordValues) {
  EXPECT_EQ(mlff::parse_transport("direct"), Transport::Mpi);
  EXPECT_EQ(mlff::parse_ghost_mode("deep"), GhostMode::Deep);
  EXPECT_THROW(mlff::parse_transport("pigeon"), mlff::Error);
  EXPECT_THROW(mlff::parse_ghost_mode("sideways"), mlff::Error);
}

}  // namespace
