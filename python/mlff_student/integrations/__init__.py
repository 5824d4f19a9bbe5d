"""The student in other engines: LAMMPS's ML-IAP (pair_style mliap unified) and ASE."""
