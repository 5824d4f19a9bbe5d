"""Bad input stops LAMMPS with a clear error and a non-zero exit, never a crash."""

import re
import shlex
import subprocess
import sys

import pytest
import torch

from harness import MODELS, PLUGIN, model_file, run_lammps
from mlff_student.data.systems import molecules, write_lammps_data

BENZENE = molecules()["benzene"]
GOOD_MODEL = model_file("seedarch_77k", "float32")


def expect_error(
    tmp_path, script: str, message: str, nprocs: int = 1, atoms=BENZENE, elements=("C", "H")
):
    write_lammps_data(atoms, tmp_path / "system.data", list(elements))
    code, output = run_lammps(tmp_path, script, nprocs=nprocs, check=False)
    assert code != 0, output[-2000:]
    assert code < 128, f"LAMMPS died from a signal ({code}):\n{output[-2000:]}"
    assert "ERROR" in output and message in output, output[-2000:]
    for crash in ("Segmentation fault", "Signal:", "core dumped", "terminate called"):
        assert crash not in output, output[-2000:]
    return output


def script(model=GOOD_MODEL, elements="C H", units="metal", style="mlff/student", extra=""):
    return f"""plugin load {PLUGIN}
units {units}
boundary f f f
atom_style atomic
read_data system.data
pair_style {style}
pair_coeff * * {model} {elements}
{extra}
run 0
"""


@pytest.mark.parametrize(
    "case, kwargs, message",
    [
        (
            "missing model",
            dict(model="nowhere/model.pt"),
            "cannot open model file 'nowhere/model.pt'",
        ),
        ("corrupt model", dict(model=MODELS / "corrupt.pt"), "is not a complete TorchScript file"),
        (
            "foreign TorchScript",
            dict(model=MODELS / "no_metadata.pt"),
            "has no mlff_student metadata",
        ),
        ("unknown element", dict(elements="C Xx"), "'Xx' (atom type 2) is not a chemical element"),
        (
            "fewer elements than types",
            dict(elements="C"),
            "one element symbol or NULL for each of the 2 atom types",
        ),
        (
            "element beyond the table",
            dict(elements="C Md"),
            "Md (Z = 101, atom type 2) is outside the model's table",
        ),
        ("units real", dict(units="real"), "requires 'units metal'"),
        (
            "style argument",
            dict(style="mlff/student fp17"),
            "Illegal pair_style mlff/student argument: fp17",
        ),
        (
            "unknown precision",
            dict(style="mlff/student precision fp17"),
            "unknown precision 'fp17'",
        ),
        (
            "reduced precision on the CPU",
            dict(style="mlff/student device cpu precision fp16"),
            "precision fp16 needs device cuda",
        ),
        (
            "unknown cuda_graph value",
            dict(style="mlff/student cuda_graph maybe"),
            "cuda_graph must be auto, yes or no, not maybe",
        ),
        (
            "CUDA graph on the CPU",
            dict(style="mlff/student device cpu cuda_graph yes"),
            "cuda_graph yes needs device cuda",
        ),
        (
            "unknown ghosts value",
            dict(style="mlff/student ghosts sideways"),
            "ghosts must be auto, exchange or deep, not sideways",
        ),
        (
            "unknown exchange_comm value",
            dict(style="mlff/student exchange_comm pigeon"),
            "exchange_comm must be auto, lammps, direct or nccl, not pigeon",
        ),
        # Without NCCL in the build the message says so instead; both name the keyword.
        (
            "NCCL for a model on the host",
            dict(style="mlff/student device cpu exchange_comm nccl"),
            "mlff/student: exchange_comm nccl",
        ),
        (
            "package of another precision",
            dict(model=MODELS / "seedarch_77k_cpu_fp32.pt2", style="mlff/student precision fp64"),
            "was compiled for precision fp32, not fp64",
        ),
    ],
)
def test_bad_input_is_a_clean_error(tmp_path, case, kwargs, message):
    expect_error(tmp_path, script(**kwargs), message)


def without_exchange_entry(tmp_path):
    """GOOD_MODEL as files made before the exchange entry say of themselves."""
    extra = {"mlff_student_metadata": ""}
    module = torch.jit.load(str(GOOD_MODEL), _extra_files=extra)
    metadata = "".join(
        line + "\n"
        for line in extra["mlff_student_metadata"].decode().splitlines()
        if not line.startswith("ghost_exchange=")
    )
    path = tmp_path / "older.pt"
    torch.jit.save(module, str(path), _extra_files={"mlff_student_metadata": metadata})
    return path


def test_a_file_without_exchange_entry_falls_back_to_the_deep_shell(tmp_path):
    older = without_exchange_entry(tmp_path)
    write_lammps_data(BENZENE, tmp_path / "system.data", ["C", "H"])
    _, output = run_lammps(tmp_path, script(model=older), nprocs=2)
    assert "has no exchange entry" in output and "ghost cutoff set" in output
    assert "ghost features exchanged" not in output
    expect_error(
        tmp_path,
        script(model=older, style="mlff/student ghosts exchange"),
        "ghosts exchange needs a model file with an exchange entry",
    )


@pytest.mark.parametrize("precision", ["fp64", "fp16"])
def test_a_package_of_another_precision_gives_advice_that_works(tmp_path, precision):
    """The advice was once 'compile it again with --precision fp64', which compile refuses (and
    fp16 on the CPU): the command the message gives must run and make a file that does."""
    package = MODELS / "seedarch_77k_cpu_fp32.pt2"
    output = expect_error(
        tmp_path, script(model=package, style=f"mlff/student precision {precision}"), "compiled"
    )
    found = re.search(r"python -m mlff_student (export|compile) <checkpoint> [^,)]*", output)
    assert found, output[-2000:]
    made = tmp_path / ("advised.pt" if found[1] == "export" else "advised.pt2")
    command = found[0].replace("<checkpoint>", str(MODELS / "seedarch_77k.ckpt"))
    command = re.sub(r"<file>\.pt2?", str(made), command)
    if "--device cuda" in command and not torch.cuda.is_available():
        pytest.skip("the advised package needs a CUDA device to compile")
    argv = [sys.executable, *shlex.split(command)[1:]]
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=900)
    device = "cuda" if "--device cuda" in command else "cpu"
    code, log = run_lammps(
        tmp_path / "advised",
        script(model=made, style=f"mlff/student device {device} precision {precision}").replace(
            "read_data system.data", f"read_data {tmp_path / 'system.data'}"
        ),
        check=False,
    )
    assert code == 0, log[-2000:]


@pytest.mark.parametrize(
    "keyword", ["min_distance -1", "ghosts sideways", "deterministic maybe", "exchange_comm pigeon"]
)
def test_a_bad_keyword_value_is_said_once(tmp_path, keyword):
    output = expect_error(tmp_path, script(style=f"mlff/student {keyword}"), keyword.split()[0])
    line = next(line for line in output.splitlines() if line.startswith("ERROR"))
    assert line.count("pair_style mlff/student") == 1, line


class NotAStudent(torch.nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z


class NoExchangeEntry(torch.nn.Module):
    def forward(
        self, z, edge_src, edge_dst, edge_vec, energy_mask
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return energy_mask, edge_vec


@pytest.mark.parametrize(
    "module, message",
    [
        (NotAStudent, "has a forward of 1 inputs, not the 5"),
        (NoExchangeEntry, "has no forward_exchange method"),
    ],
)
def test_a_scripted_module_without_the_contract_is_refused_by_pair_coeff(tmp_path, module, message):
    """Such a file was once taken at pair_coeff and failed at the first run with a fragment of a
    C++ stack: the contract is checked as the file loads."""
    extra = {"mlff_student_metadata": ""}
    torch.jit.load(str(GOOD_MODEL), _extra_files=extra)
    assert b"ghost_exchange=1" in extra["mlff_student_metadata"]
    path = tmp_path / "module.pt"
    torch.jit.save(torch.jit.script(module()), str(path), _extra_files=extra)
    output = expect_error(tmp_path, script(model=path).replace("run 0\n", ""), message)
    assert "model contract, doc/model_format.md" in output
    assert "Last input line: pair_coeff" in output, output[-2000:]


@pytest.mark.parametrize("nprocs", [1, 2])
def test_a_nan_position_is_named_by_the_atom_id(tmp_path, nprocs):
    """Without a reneighboring LAMMPS does not look at positions; the style once named the atom
    by its index on the rank (16, or 21 on two ranks) instead of its ID (30)."""
    write_lammps_data(BENZENE, tmp_path / "system.data", ["C", "H"])
    data = (tmp_path / "system.data").read_text()
    head, rest = data.split("Atoms # atomic\n\n")
    rows = rest.strip().splitlines()
    # IDs in the reverse of the file's order: an atom's index is not its ID less one.
    rows = [f"{len(rows) + 1 - int(r.split()[0])} {' '.join(r.split()[1:])}" for r in rows]
    (tmp_path / "system.data").write_text(head + "Atoms # atomic\n\n" + "\n".join(rows) + "\n")
    bad = script(
        extra="run 0\nvariable nan atom 1e308*10-1e308*10\nset atom 3 x v_nan\nrun 1 pre no"
    )
    code, output = run_lammps(tmp_path, bad, nprocs=nprocs, check=False)
    assert code != 0 and code < 128, output[-2000:]
    assert re.search(r"non-finite position \(NaN or inf\) of atom 3:", output), output[-2000:]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_gpu_is_a_clean_error(tmp_path):
    expect_error(tmp_path, script(style="mlff/student device cuda"), "LibTorch sees no CUDA device")


def test_pair_coeff_must_cover_all_types(tmp_path):
    bad = script().replace("pair_coeff * * ", "pair_coeff 1 1 ")
    expect_error(tmp_path, bad, "must start with * *")


@pytest.mark.parametrize("nprocs", [1, 2])
def test_nan_position_is_a_clean_error(tmp_path, nprocs):
    # inf - inf: an atom coordinate that has turned NaN, as in a blown-up run.
    bad = script(extra="run 0\nvariable nan atom 1e308*10-1e308*10\nset atom 3 x v_nan")
    output = expect_error(tmp_path, bad, "", nprocs=nprocs)
    assert "non-finite position" in output or "Non-numeric atom coords" in output
