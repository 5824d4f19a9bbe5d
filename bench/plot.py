"""Plots bench.py's JSON: steps/s per system and variant, and µs per atom-step against atoms."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(src: str, dst: str) -> None:
    results = json.load(open(src))
    variants = results["variants"]
    timings = results["timings"]
    systems = [s for s in timings if not s.startswith("ensemble")]
    by_size = sorted(timings, key=lambda s: timings[s]["atoms"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5))
    width = 0.8 / max(len(variants), 1)
    colors = plt.get_cmap("tab20").colors
    for k, v in enumerate(variants):
        color = colors[k % len(colors)]
        # The references (the engine around a free pair style, the Python loop) dashed.
        style = "--" if v.removeprefix("kk-").startswith(("lj", "ase")) else "-"
        xs, ys = [], []
        for i, s in enumerate(systems):
            if "steps_per_s" in timings[s].get(v, {}):
                xs.append(i + k * width)
                ys.append(timings[s][v]["steps_per_s"])
        ax1.bar(xs, ys, width, label=v, color=color)
        atoms = [timings[s]["atoms"] for s in by_size if "steps_per_s" in timings[s].get(v, {})]
        cost = [
            timings[s][v]["us_per_atom_step"]
            for s in by_size
            if "steps_per_s" in timings[s].get(v, {})
        ]
        if atoms:
            ax2.plot(atoms, cost, "o" + style, label=v, color=color)
    ax1.set_xticks([i + 0.4 - width / 2 for i in range(len(systems))])
    ax1.set_xticklabels(
        [f"{s}\n{timings[s]['atoms']} atoms\n{timings[s].get('model', '')}" for s in systems],
        fontsize=8,
    )
    ax1.set_yscale("log")
    ax1.set_ylabel("MD steps/s (whole LAMMPS run)")
    ax1.legend(fontsize=7)
    ax1.set_title(f"{(results.get('gpu') or results['device']).splitlines()[0]}")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("atoms")
    ax2.set_ylabel("µs per atom-step (lower is better)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(dst, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
