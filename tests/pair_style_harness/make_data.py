"""Writes the harness's data files (committed; run again only to change the systems).

    python tests/pair_style_harness/make_data.py

data.caffeine: caffeine in a non-periodic box, its atoms displaced from the equilibrium geometry
so that every force is far from zero. data.benzene_liquid: 8 benzene molecules at 0.87 g/cm^3 in
a periodic triclinic cell (96 atoms), the liquid the liquid model was trained on.
"""

from pathlib import Path

import numpy as np

from mlff_student.data.systems import molecular_box, molecules, write_lammps_data

HERE = Path(__file__).resolve().parent

caffeine = molecules()["caffeine"].copy()
caffeine.positions += np.random.default_rng(3).normal(scale=0.05, size=caffeine.positions.shape)
write_lammps_data(caffeine, HERE / "data.caffeine", ["H", "C", "N", "O"], vacuum=6.0)

liquid = molecular_box(molecules()["benzene"], 2, 0.87, seed=5, tilt=(0.05, -0.03, 0.02))
write_lammps_data(liquid, HERE / "data.benzene_liquid", ["H", "C"])
