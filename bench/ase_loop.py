"""MD the way MLFF-Distiller runs it: ASE's velocity Verlet calling the student in PyTorch.

Each step ASE asks the calculator for forces; the calculator moves the positions to the device,
finds all pairs within the cutoff (the model's own molecule graph), sums the energy and takes its
gradient with autograd, and hands the forces back to NumPy. `compiled` wraps the model in
torch.compile (dynamic shapes: the number of edges changes from step to step). This is the
baseline the LAMMPS styles are compared with, for molecules without periodic images.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from ase import units
from ase.calculators.calculator import Calculator, all_changes
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
from ase.md.verlet import VelocityVerlet

from mlff_student.model.loading import load_model


class TorchLoopCalculator(Calculator):
    implemented_properties = ["energy", "forces"]

    def __init__(self, model_file: Path, device: str, compiled: bool, **kwargs):
        super().__init__(**kwargs)
        self.device = torch.device(device)
        self.model = load_model(model_file).float().to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.energy = torch.compile(self.model, dynamic=True) if compiled else self.model

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        z = torch.as_tensor(self.atoms.numbers, device=self.device)
        pos = torch.tensor(
            self.atoms.positions, dtype=torch.float32, device=self.device, requires_grad=True
        )
        energy = self.energy(z, pos)
        (grad,) = torch.autograd.grad(energy, pos)
        self.results["energy"] = float(energy.detach())
        self.results["forces"] = -grad.double().cpu().numpy()


def steps_per_second(
    atoms, model_file: Path, device: str, compiled: bool, warm: int, steps: int
) -> dict:
    """A warm-up, then a timed velocity-Verlet run at 0.5 fs from 300 K velocities."""
    atoms = atoms.copy()
    atoms.calc = TorchLoopCalculator(model_file, device, compiled)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(4928459))
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.run(warm)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - start
    return {"steps": steps, "seconds": seconds, "steps_per_s": steps / seconds}
