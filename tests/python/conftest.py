import argparse

import pytest

from mlff_student.train.distill import add_arguments


@pytest.fixture
def distill_args():
    """The distill command's arguments as its own parser makes them, from keyword options
    (lr=1e-3 for --lr 1e-3), so that a test sees every option the command has."""

    def parse(**options):
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        argv = []
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        return parser.parse_args(argv)

    return parse
