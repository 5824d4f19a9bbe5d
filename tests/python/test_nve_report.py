"""The NVE report's temperature windows: a slow drift shows in them, not in the run's mean."""

import numpy as np
import pytest

from mlff_student.analysis.nve import Thermo, window_means


def test_ten_picosecond_windows_show_a_slow_heating():
    time = np.arange(0.0, 30.0 + 1e-9, 0.005)  # 30 ps, the last sample at the end
    temp = 290.0 + np.floor(time / 10.0).clip(max=2) * 10.0
    thermo = Thermo(time, temp, -temp, temp, np.zeros_like(temp), 12)
    assert window_means(thermo, 10.0) == [290.0, 300.0, 310.0]
    assert window_means(thermo, 25.0) == pytest.approx([298.0, 310.0])
