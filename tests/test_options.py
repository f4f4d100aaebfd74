"""The shared option blocks: --uwo-lambda is checked in one place (UwoLambdaOptions) for every
command that takes it, with or without --aggregate."""

import pytest

from rewardkit.candidates.config import BonConfig
from rewardkit.errors import UserError
from rewardkit.options import AggregateOptions, UwoLambdaOptions
from rewardkit.overopt.config import OveroptConfig
from rewardkit.serve.config import ServeConfig


@pytest.mark.parametrize(
    "build",
    [
        lambda lam: OveroptConfig(proxy=["rm"], candidates="c.jsonl", out="o", uwo_lambda=lam),
        lambda lam: ServeConfig(uwo_lambda=lam),
        lambda lam: BonConfig(model="rm", data="c.jsonl", out="o.jsonl", uwo_lambda=lam),
        lambda lam: AggregateOptions(aggregate="uwo", uwo_lambda=lam),
    ],
)
def test_a_negative_uwo_lambda_is_one_line_everywhere(build):
    with pytest.raises(UserError, match=r"--uwo-lambda must be 0 or more, got -0.5"):
        build(-0.5)
    assert build(0.0).uwo_lambda == 0.0


def test_every_command_with_uwo_lambda_inherits_the_one_check():
    for config in (OveroptConfig, ServeConfig, BonConfig):
        assert issubclass(config, UwoLambdaOptions)
        assert "uwo_lambda" not in vars(config).get("__annotations__", {})
