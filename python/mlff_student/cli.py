"""Command line (`mlff-student` once the package is installed, or python -m mlff_student):
    python -m mlff_student export SOURCE -o OUT.pt [--dtype float32|float64]
    python -m mlff_student compile SOURCE -o OUT.pt2 [--device cuda|cpu]
        [--precision fp32|tf32|fp16|bf16] [--message fused|torch] [--knots N]
        [--tables fp32|features]
    python -m mlff_student mliap SOURCE -o OUT.pt --elements C H ... [--dtype float64|float32]
    python -m mlff_student nve-report LOG [--json OUT.json] [--png OUT.png]
    python -m mlff_student distill --out STEM --dataset DATA.npz [--device cuda] [--epochs N] ...
    python -m mlff_student molecules [--out DIR] [--names caffeine,...]   (needs RDKit)
    python -m mlff_student inspect FILE

Errors print one line, `mlff_student <command>: <path>: what is wrong and what to do`, and exit
with status 1 (--traceback prints Python's traceback instead); usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import torch

from .deploy.compile import MESSAGES, PRECISIONS, compile_aoti
from .deploy.export import DTYPES, export_torchscript, read_metadata
from .errors import InputError, writable_directory, writable_file
from .model.loading import load_model
from .train import distill


def main(argv=None) -> int:
    installed = Path(sys.argv[0]).name == "mlff-student"  # the command pip installs
    parser = argparse.ArgumentParser(prog="mlff-student" if installed else "python -m mlff_student")
    parser.add_argument(
        "--traceback", action="store_true", help="show Python's traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser(
        "export", help="write a TorchScript model file for pair_style mlff/student"
    )
    exp.add_argument(
        "source", help="MLFF-Distiller checkpoint (.pt/.pth) or seed ONNX file (.onnx)"
    )
    exp.add_argument("-o", "--output", required=True, help="output file (.pt)")
    exp.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    comp = sub.add_parser(
        "compile", help="write an AOTInductor package (.pt2) for this machine's device"
    )
    comp.add_argument(
        "source", help="MLFF-Distiller checkpoint (.pt/.pth) or seed ONNX file (.onnx)"
    )
    comp.add_argument("-o", "--output", required=True, help="output package (.pt2)")
    comp.add_argument(
        "--device",
        choices=["cuda", "cpu"],
        help="where the package will run (default: cuda if this machine has a GPU)",
    )
    comp.add_argument("--precision", choices=list(PRECISIONS), default="fp32")
    comp.add_argument(
        "--message",
        choices=list(MESSAGES),
        help="fused Triton kernels with tabulated filters (default on cuda) or the "
        "model's torch ops (the only choice on cpu)",
    )
    comp.add_argument("--knots", type=int, help="filter table size of the fused kernels")
    comp.add_argument(
        "--tables",
        choices=["features", "fp32"],
        default="features",
        help="the fused kernels' filter tables in the type they read features in "
        "(16-bit in fp16 and bf16 packages; the default) or in fp32",
    )
    mli = sub.add_parser("mliap", help="write the model for LAMMPS's pair_style mliap unified")
    mli.add_argument(
        "source", help="MLFF-Distiller checkpoint (.pt/.pth) or seed ONNX file (.onnx)"
    )
    mli.add_argument("-o", "--output", required=True, help="output file (.pt)")
    mli.add_argument(
        "--elements",
        nargs="+",
        required=True,
        help="the element of each ML-IAP element type, in pair_coeff's order",
    )
    mli.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    rep = sub.add_parser(
        "nve-report", help="energy conservation and temperature of an NVE LAMMPS log"
    )
    rep.add_argument("log", help="LAMMPS log with thermo columns step time temp pe ke etotal")
    rep.add_argument("--json", help="write the metrics here")
    rep.add_argument("--png", help="write energies and temperature against time here")
    rep.add_argument("--title", default="")
    dis = sub.add_parser("distill", help="train a student on GFN2-xTB (tblite) energies and forces")
    distill.add_arguments(dis)
    mol = sub.add_parser(
        "molecules",
        help="remake the shipped drug-like structures: RDKit "
        "conformers relaxed with GFN2-xTB (needs RDKit)",
    )
    mol.add_argument(
        "--out", help="directory for the .xyz files (default: the package's structures/)"
    )
    mol.add_argument("--names", help="comma-separated subset of the molecules")
    ins = sub.add_parser("inspect", help="print a model file's metadata without loading its code")
    ins.add_argument("file", help="TorchScript file (.pt) or AOTInductor package (.pt2)")
    args = parser.parse_args(argv)
    try:
        return run(parser, args)
    except InputError as err:
        if args.traceback:
            raise
        print(f"mlff_student {args.command}: {err}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as err:  # not foreseen: its first line, and where
        if args.traceback:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(
            f"mlff_student {args.command}: {first} (--traceback before {args.command} shows where)",
            file=sys.stderr,
        )
        return 1


def run(parser, args) -> int:
    if args.command == "inspect":
        for key, value in read_metadata(args.file).items():
            print(f"{key}={value}")
        return 0

    if args.command == "molecules":
        from .data.systems import DRUGLIKE, STRUCTURES, make_molecules

        names = args.names.split(",") if args.names else None
        unknown = [n for n in names or () if n not in DRUGLIKE]
        if unknown:
            raise InputError(
                None,
                f"--names: {', '.join(map(repr, unknown))} not among the molecules: choose from "
                + ", ".join(DRUGLIKE),
            )
        out = writable_directory(args.out or STRUCTURES)
        if importlib.util.find_spec("rdkit") is None:
            raise InputError(None, "needs RDKit, which is not installed: pip install rdkit")
        make_molecules(out, names)
        return 0

    if args.command == "distill":
        return distill.main(args)

    if args.command == "nve-report":
        from .analysis.nve import report, summary_line

        for path in (args.json, args.png):
            if path:
                writable_file(path)
        metrics = report(args.log, args.json, args.png, args.title)
        print(summary_line(args.title or args.log, metrics))
        return 0

    if args.command == "mliap":
        from .integrations.mliap import write

        if not args.output.endswith(".pt"):
            parser.error("pair_style mliap unified loads files ending in .pt with torch.load")
        writable_file(args.output)
        write(load_model(args.source), args.output, args.elements, DTYPES[args.dtype])
        print(
            f"wrote {args.output}: pair_style mliap unified {args.output} 0, "
            f"pair_coeff * * {' '.join(args.elements)}"
        )
        return 0

    if args.command == "export":
        if args.output.endswith(".pt2"):
            parser.error(
                "export writes TorchScript (.pt); AOTInductor packages (.pt2) are made by compile"
            )
        writable_file(args.output)
        model = load_model(args.source)
        meta = export_torchscript(model, args.output, args.dtype)
        n = sum(p.numel() for p in model.parameters())
    else:
        if not args.output.endswith(".pt2"):
            parser.error("AOTInductor packages must end in .pt2")
        writable_file(args.output)
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = load_model(args.source)
        meta = compile_aoti(
            model, args.output, device, args.precision, args.message, args.knots, args.tables
        )
        n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.output}: {n} parameters, " + ", ".join(f"{k}={v}" for k, v in meta.items()))
    return 0
