"""The t quantile table the planner's bands read instead of importing scipy.special."""

import numpy as np
import pytest
from scipy.special import stdtrit

from profiling.fitting import intervals
from profiling.fitting.t_quantiles import T975


def test_table_is_stdtrit_bit_for_bit():
    assert len(T975) == 1024
    for df, t in enumerate(T975, start=1):
        assert t == float(stdtrit(df, 0.975)), df


@pytest.mark.parametrize("df, p", [(1, 0.975), (57, 0.975), (1024, 0.975), (1025, 0.975), (5000, 0.975),
                                   (57.5, 0.975), (57, 0.95), (3, 0.995)])
def test_t_quantile_equals_stdtrit(df, p):
    assert intervals.t_quantile(df, p) == float(stdtrit(df, p))


def test_band_level_reads_the_table():
    # prediction_interval asks for 0.5 + level / 2: exactly the table's 0.975 at level 0.95.
    assert 0.5 + 0.95 / 2 == 0.975
    assert intervals.t_quantile(np.int64(200), 0.5 + 0.95 / 2) == T975[199]
