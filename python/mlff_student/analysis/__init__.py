"""Reports on runs: energy conservation and temperature of NVE LAMMPS logs."""
