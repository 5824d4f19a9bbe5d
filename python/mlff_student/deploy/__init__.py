"""Model files for the LAMMPS plugin: TorchScript export, AOTInductor packages, fused kernels."""
