"""Running a ``rewardkit`` command in this process (typer's CliRunner) and reading its one-line
refusal. Imported by tests through ``sys.path``, as ``tiny_reward_models`` is::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from one_line_refusals import refusal, run_cli
"""

from __future__ import annotations

from typer.testing import CliRunner


def run_cli(args: list[str]):
    """``rewardkit ARGS`` through the real command table, stdout and stderr kept apart."""
    from rewardkit.cli import app

    return CliRunner().invoke(app, [str(arg) for arg in args])


def refusal(args: list[str], *, after_notes: bool = False) -> str:
    """Run ``rewardkit ARGS``; assert it stopped with exit code 2 and one error line on
    stderr, no traceback; return that line. ``after_notes``: the command may first print its
    usual progress notes (``train`` reports what it read before it resumes), so the error is
    the last line and the only one that starts with ``error:``."""
    result = run_cli(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    if after_notes:
        assert "Traceback" not in result.stderr, result.stderr
        assert [line for line in lines if line.startswith("error:")] == lines[-1:], result.stderr
    else:
        assert len(lines) == 1, result.stderr
    assert lines[-1].startswith("error: "), result.stderr
    return lines[-1]
