"""Energy-conservation report of an NVE run from its LAMMPS log.

The seed's metrics (percent drift of the total energy, its largest excursion, the conservation
ratio 1 - std(E)/|mean(E)|, the sign of the kinetic-potential correlation) are relative to a total
energy of several eV per atom, so they are loose; the drift slope in meV/atom/ps and the
temperature say whether a model heats up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, readable_file

# The seed's pass criteria.
MAX_DRIFT_PCT = 1.0
MAX_EXCURSION_PCT = 1.5
MIN_CONSERVATION_RATIO = 0.99

COLUMNS = ("Step", "Time", "Temp", "PotEng", "KinEng", "TotEng")


@dataclass
class Thermo:
    time_ps: np.ndarray
    temp: np.ndarray
    pe: np.ndarray
    ke: np.ndarray
    etotal: np.ndarray
    natoms: int


def read_log(path: str | Path) -> Thermo:
    """Thermo rows of every run in the log with thermo_style custom step time temp pe ke etotal
    (any order, other columns allowed), finished or not. Rows repeated at the start of a run are
    dropped."""
    path = readable_file(path, "the log of a LAMMPS run (log.lammps)")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text, so not a LAMMPS log: give the run's log") from None
    rows, natoms, header = {}, None, None
    for line in text.splitlines():
        words = line.split()
        if natoms is None and len(words) == 2 and words[1] == "atoms" and words[0].isdigit():
            natoms = int(words[0])  # read_data's count; an unfinished run has no loop line
            continue
        if words[:1] == ["Step"]:  # other thermo output (e.g. of a minimization) is skipped
            header = words if all(c in words for c in COLUMNS) else None
            continue
        if line.startswith("Loop time"):
            header = None
            found = re.search(r"with (\d+) atoms", line)
            natoms = int(found.group(1)) if found else natoms
            continue
        if header and len(words) == len(header):
            try:
                values = dict(zip(header, map(float, words), strict=True))
            except ValueError:
                header = None
                continue
            rows[int(values["Step"])] = values
    if not rows or natoms is None:
        raise InputError(
            path,
            f"no thermo output of a run with the columns {', '.join(COLUMNS)}: give the log of a "
            "run with thermo_style custom step time temp pe ke etotal",
        )
    table = [rows[s] for s in sorted(rows)]

    def column(name):
        return np.array([r[name] for r in table])

    return Thermo(
        column("Time"), column("Temp"), column("PotEng"), column("KinEng"), column("TotEng"), natoms
    )


def metrics(t: Thermo) -> dict:
    e0 = t.etotal[0]
    drift_pct = 100.0 * (t.etotal[-1] - e0) / abs(e0)
    excursion_pct = 100.0 * np.max(np.abs(t.etotal - e0)) / abs(e0)
    ratio = 1.0 - np.std(t.etotal) / abs(np.mean(t.etotal))
    correlation = float(np.corrcoef(t.ke, t.pe)[0, 1]) if np.std(t.ke) > 0 else float("nan")
    slope = np.polyfit(t.time_ps - t.time_ps[0], t.etotal, 1)[0] if len(t.etotal) > 1 else 0.0
    checks = {
        "drift": bool(abs(drift_pct) <= MAX_DRIFT_PCT),
        "max_drift": bool(excursion_pct <= MAX_EXCURSION_PCT),
        "conservation_ratio": bool(ratio >= MIN_CONSERVATION_RATIO),
        "ke_pe_anticorrelated": bool(correlation < 0),
    }
    return {
        "atoms": t.natoms,
        "time_ps": float(t.time_ps[-1] - t.time_ps[0]),
        "samples": len(t.etotal),
        "drift_pct": float(drift_pct),
        "max_drift_pct": float(excursion_pct),
        "conservation_ratio": float(ratio),
        "ke_pe_correlation": correlation,
        "seed_checks": checks,
        "seed_passed": all(checks.values()),
        "drift_slope_meV_per_atom_ps": float(1e3 * slope / t.natoms),
        "total_energy_spread_meV_per_atom": float(1e3 * np.std(t.etotal) / t.natoms),
        "temperature_mean_K": float(np.mean(t.temp)),
        "temperature_std_K": float(np.std(t.temp)),
        "temperature_first_ps_K": float(np.mean(t.temp[t.time_ps - t.time_ps[0] <= 1.0])),
        "temperature_last_ps_K": float(np.mean(t.temp[t.time_ps >= t.time_ps[-1] - 1.0])),
        # A slow heating or cooling hides in a mean over the whole run, not in window means.
        "temperature_10ps_windows_K": window_means(t, 10.0),
    }


def window_means(t: Thermo, width_ps: float) -> list:
    """Mean temperature of each window of width_ps from the start (the last may be shorter)."""
    elapsed = t.time_ps - t.time_ps[0]
    count = max(1, int(np.ceil(elapsed[-1] / width_ps - 1e-9)))
    window = np.minimum((elapsed // width_ps).astype(int), count - 1)
    return [float(np.mean(t.temp[window == k])) for k in range(count)]


def plot(t: Thermo, path: str | Path, title: str = "") -> None:
    try:
        import matplotlib
    except ImportError:
        raise InputError(path, "plotting needs matplotlib: pip install matplotlib") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True)
    per_atom = 1.0 / t.natoms
    series = [
        (t.etotal, "total energy (eV/atom)"),
        (t.pe, "potential energy (eV/atom)"),
        (t.ke, "kinetic energy (eV/atom)"),
    ]
    for ax, (values, label) in zip(axes, series, strict=False):
        ax.plot(t.time_ps, values * per_atom, lw=0.6)
        ax.set_ylabel(label, fontsize=8)
    axes[3].plot(t.time_ps, t.temp, lw=0.6, color="tab:red")
    axes[3].set_ylabel("temperature (K)", fontsize=8)
    axes[3].set_xlabel("time (ps)")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except ValueError as err:  # a file name whose suffix names no format matplotlib writes
        raise InputError(path, f"{err}: name the file .png") from None
    finally:
        plt.close(fig)


def report(
    log: str | Path,
    json_path: str | Path | None = None,
    png_path: str | Path | None = None,
    title: str = "",
) -> dict:
    thermo = read_log(log)
    result = {"log": str(log), **metrics(thermo)}
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1) + "\n")
    if png_path:
        plot(thermo, png_path, title or Path(log).stem)
    return result


def summary_line(name: str, m: dict) -> str:
    return (
        f"{name}: {m['time_ps']:.1f} ps, drift {m['drift_pct']:+.3f} %, "
        f"max {m['max_drift_pct']:.3f} %, "
        f"ratio {m['conservation_ratio']:.5f}, KE-PE corr {m['ke_pe_correlation']:+.2f}, "
        f"{'PASS' if m['seed_passed'] else 'FAIL'} (seed criteria); slope "
        f"{m['drift_slope_meV_per_atom_ps']:+.4f} meV/atom/ps, T {m['temperature_mean_K']:.0f} "
        f"± {m['temperature_std_K']:.0f} K (last ps {m['temperature_last_ps_K']:.0f} K)"
    )
