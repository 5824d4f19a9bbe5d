"""Molecules and periodic boxes, liquid frames, the GFN2-xTB teacher, LAMMPS data files."""
