"""bench/scaling.py asks Kokkos for as many GPUs as there are ranks, up to the node's."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scaling import kokkos_flags


def gpus(flags: list[str]) -> int:
    return int(flags[flags.index("g") + 1])


def test_one_rank_on_a_node_of_two_gpus_asks_for_one():
    # With -k on g 2 and no mpirun, Kokkos stops: "Could not determine local MPI rank".
    assert gpus(kokkos_flags(1, 2, threads=8, on_cpu=False)) == 1


def test_ranks_take_the_node_s_gpus_and_share_beyond_them():
    assert gpus(kokkos_flags(2, 2, threads=8, on_cpu=False)) == 2
    assert gpus(kokkos_flags(4, 2, threads=8, on_cpu=False)) == 2
    assert kokkos_flags(2, 2, threads=8, on_cpu=True)[2:4] == ["t", "8"]
