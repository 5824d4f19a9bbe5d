"""Training a student on labelled frames: reference energies, the loss, validation and saving."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..deploy.export import export_torchscript
from ..model.student import StudentConfig, StudentForceField
from .datasets import GraphSet


def predict(model: StudentForceField, b: dict, create_graph: bool):
    """Energies [frames], forces [atoms, 3] and virials [frames, 3, 3] (eV, LAMMPS's sign:
    minus the sum over edges of r (x) dE/dr) of a batch."""
    pos = b["pos"].detach().requires_grad_(True)
    edge_vec = pos[b["src"]] + b["shift"] - pos[b["dst"]]
    node = model.node_energies(b["z"], b["src"], b["dst"], edge_vec)
    energy = torch.zeros(len(b["natoms"]), dtype=node.dtype, device=node.device)
    energy = energy.index_add(0, b["graph"], node)
    grad, edge_grad = torch.autograd.grad(energy.sum(), [pos, edge_vec], create_graph=create_graph)
    edge_virial = -(edge_vec.unsqueeze(2) * edge_grad.unsqueeze(1))
    virial = torch.zeros(len(b["natoms"]), 3, 3, dtype=node.dtype, device=node.device)
    virial = virial.index_add(0, b["edge_graph"], edge_virial)
    return energy, -grad, virial


def fit_reference_energies(data: dict, configs: np.ndarray, max_z: int) -> np.ndarray:
    """Per-element energies (eV) that best explain the teacher energies by composition alone."""
    start = np.concatenate([[0], np.cumsum(data["natoms"])[:-1]])
    present = sorted(set(data["numbers"].tolist()))
    counts = np.zeros((len(configs), len(present)))
    for row, c in enumerate(configs):
        z = data["numbers"][start[c] : start[c] + data["natoms"][c]]
        counts[row] = [(z == e).sum() for e in present]
    solution, *_ = np.linalg.lstsq(counts, data["energy"][configs], rcond=None)
    reference = np.zeros(max_z + 1)
    reference[present] = solution
    return reference


@dataclass
class Training:
    epochs: int = 300
    batch_size: int = 32
    lr: float = 2e-3
    lr_final: float = 2e-5
    energy_weight: float = 1.0  # on (eV/atom)^2
    force_weight: float = 10.0  # on (eV/Å)^2 per component
    virial_weight: float = 10.0  # on (eV/atom)^2 per component, frames with a teacher virial
    validation_fraction: float = 0.1
    minutes: float | None = None  # if set, train this long instead of `epochs`
    seed: int = 0
    history: list = field(default_factory=list)


def virial_error(virial: torch.Tensor, b: dict) -> torch.Tensor:
    """[frames with a teacher virial, 9]: the virial's error per atom (eV)."""
    known = torch.isfinite(b["virial"]).all(dim=2).all(dim=1)
    error = (virial.double() - b["virial"]) / b["natoms"].double()[:, None, None]
    return error[known].flatten(1)


def batch_loss(model: StudentForceField, b: dict, training: Training) -> torch.Tensor:
    """The training loss of a batch: squared errors of the energy per atom, of the force
    components and, on frames with a teacher virial, of the virial's components per atom."""
    energy, forces, virial = predict(model, b, create_graph=True)
    e_loss = (((energy.double() - b["energy"]) / b["natoms"]) ** 2).mean().float()
    f_loss = ((forces - b["forces"]) ** 2).mean()
    loss = training.energy_weight * e_loss + training.force_weight * f_loss
    w_err = virial_error(virial, b)
    if len(w_err):  # averaged over all frames: a batch's few cells weigh as few
        w_loss = (w_err**2).mean(dim=1).sum() / len(b["natoms"])
        loss = loss + training.virial_weight * w_loss.float()
    return loss


def evaluate(model, graphs: GraphSet, configs: np.ndarray, batch_size: int = 256) -> dict:
    """Energy and force errors, and the virial's where frames have a teacher virial."""
    e_err, f_err, w_err = [], [], []
    for k in range(0, len(configs), batch_size):
        b = graphs.batch(configs[k : k + batch_size])
        energy, forces, virial = predict(model, b, create_graph=False)
        e_err.append(((energy.double() - b["energy"]) / b["natoms"]).detach())
        f_err.append((forces - b["forces"]).detach().flatten())
        w_err.append(virial_error(virial.detach(), b))
    e, f, w = torch.cat(e_err), torch.cat(f_err), torch.cat(w_err)
    errors = {
        "energy_mae_meV_per_atom": 1e3 * e.abs().mean().item(),
        "energy_rmse_meV_per_atom": 1e3 * e.pow(2).mean().sqrt().item(),
        "force_mae_eV_per_A": f.abs().mean().item(),
        "force_rmse_eV_per_A": f.pow(2).mean().sqrt().item(),
    }
    if len(w):
        errors["virial_rmse_meV_per_atom"] = 1e3 * w.pow(2).mean().sqrt().item()
        # The pressure's part of it: the error of the trace's mean per atom.
        errors["virial_trace_mae_meV_per_atom"] = (
            1e3 * (w[:, [0, 4, 8]].mean(dim=1)).abs().mean().item()
        )
    return errors


def train(
    data: dict,
    config: StudentConfig,
    training: Training,
    device: torch.device,
    log=print,
    start_from: StudentForceField | None = None,
) -> tuple[StudentForceField, dict]:
    """Trains a new student, or goes on training `start_from` (its weights and per-element
    energies, which are then kept)."""
    torch.manual_seed(training.seed)
    rng = np.random.default_rng(training.seed)
    order = rng.permutation(len(data["natoms"]))
    if len(order) < 2:
        raise ValueError("training needs at least two frames (one for validation)")
    n_val = max(1, int(round(training.validation_fraction * len(order))))
    val_idx, train_idx = np.sort(order[:n_val]), order[n_val:]

    model = StudentForceField(config)
    if start_from is not None:
        model.load_state_dict(start_from.state_dict())
    else:
        model.atom_reference.copy_(
            torch.as_tensor(fit_reference_energies(data, train_idx, config.max_z))
        )
    model.to(device)
    graphs = GraphSet(data, config.cutoff, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.lr)
    steps_per_epoch = math.ceil(len(train_idx) / training.batch_size)
    epochs = training.epochs if training.minutes is None else 10**9
    best, best_state = math.inf, None
    start = time.perf_counter()

    def progress(epoch: int, step: int) -> float:
        """Fraction of the training done: by epochs, or by wall time with --minutes."""
        if training.minutes is not None:
            return (time.perf_counter() - start) / (60.0 * training.minutes)
        return ((epoch - 1) * steps_per_epoch + step) / (training.epochs * steps_per_epoch)

    log(
        f"training on {device}: {len(train_idx)} frames, validation {len(val_idx)}, "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )
    epoch = 0
    while epoch < epochs and (epoch == 0 or progress(epoch + 1, 0) < 1.0):  # at least one
        epoch += 1
        model.train()
        perm = rng.permutation(train_idx)
        total = torch.zeros((), device=device)
        for step, k in enumerate(range(0, len(perm), training.batch_size)):
            # Cosine decay of the learning rate over the whole training.
            done = min(1.0, progress(epoch, step))
            for group in optimizer.param_groups:
                group["lr"] = training.lr_final + 0.5 * (training.lr - training.lr_final) * (
                    1.0 + math.cos(math.pi * done)
                )
            loss = batch_loss(model, graphs.batch(perm[k : k + training.batch_size]), training)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        model.eval()
        val = evaluate(model, graphs, val_idx)
        score = (
            training.energy_weight * (val["energy_rmse_meV_per_atom"] / 1e3) ** 2
            + training.force_weight * val["force_rmse_eV_per_A"] ** 2
            + training.virial_weight * (val.get("virial_rmse_meV_per_atom", 0.0) / 1e3) ** 2
        )
        if score < best:
            best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
        record = {
            "epoch": epoch,
            "seconds": round(time.perf_counter() - start, 1),
            "train_loss": total.item() / steps_per_epoch,
            **val,
        }
        training.history.append(record)
        if epoch == 1 or epoch % 10 == 0:
            log(
                f"epoch {epoch:4d}  {record['seconds']:7.1f} s  loss {record['train_loss']:.3e}  "
                f"val E MAE {val['energy_mae_meV_per_atom']:.2f} meV/atom  "
                f"F RMSE {val['force_rmse_eV_per_A']:.4f} MAE {val['force_mae_eV_per_A']:.4f} eV/Å"
            )
    if best_state is None:
        raise RuntimeError("training diverged: every validation error was NaN")
    model.load_state_dict(best_state)
    model.eval()
    summary = {
        "train_frames": len(train_idx),
        "validation_frames": len(val_idx),
        "epochs": epoch,
        "seconds": round(time.perf_counter() - start, 1),
        "seconds_per_epoch": round((time.perf_counter() - start) / epoch, 3),
        "validation": evaluate(model, graphs, val_idx),
    }
    return model.cpu(), summary


def save(model: StudentForceField, out: Path, record: dict) -> None:
    """<out>.pt (the plugin's TorchScript file), <out>.ckpt (an MLFF-Distiller-style checkpoint)
    and <out>.json (how it was made and how accurate it is)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n = sum(p.numel() for p in model.parameters())
    torch.save(
        {
            "model_state_dict": model.state_dict(),
            "config": asdict(model.config),
            "num_parameters": n,
        },
        out.with_suffix(".ckpt"),
    )
    export_torchscript(model, out.with_suffix(".pt"), "float32")
    out.with_suffix(".json").write_text(
        json.dumps({"num_parameters": n, **record}, indent=1) + "\n"
    )
