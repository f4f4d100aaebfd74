"""`rewardkit --help` and every `rewardkit VERB --help` answer from the light configs alone:
exit 0, the usage line, and neither torch, transformers nor numpy imported (they take seconds
to load). Each runs in a fresh interpreter, as a user's shell would start it."""

import json
import subprocess
import sys

import pytest

from rewardkit.cli import ANNOTATE_COMMANDS, COMMANDS

HEAVY = ("torch", "transformers", "numpy")
PROBE = (
    "import json, sys\n"
    "from rewardkit.cli import main\n"
    "sys.argv = ['rewardkit', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exit:\n"
    "    code = exit.code\n"
    "else:\n"
    "    code = 0\n"
    "print(json.dumps({'code': code, 'heavy': [m for m in %r if m in sys.modules]}),"
    " file=sys.stderr)\n" % (HEAVY,)
)


def help_of(*words: str) -> tuple[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *words, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": ""},
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


ANNOTATE_VERBS = ["annotate"] + [f"annotate {command.name}" for command in ANNOTATE_COMMANDS]


@pytest.mark.parametrize(
    "verb", [None] + [command.name for command in COMMANDS] + ["version"] + ANNOTATE_VERBS
)
def test_help_loads_no_heavy_library(verb):
    words = () if verb is None else tuple(verb.split())
    output, probe = help_of(*words)
    assert probe == {"code": 0, "heavy": []}
    assert f"Usage: rewardkit {verb or ''}".rstrip() in output


def test_the_probe_would_see_a_heavy_import():
    """The check can fail: a command that does import numpy is caught by the same probe."""
    done = subprocess.run(
        [sys.executable, "-c", "import numpy\n" + PROBE, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(done.stderr.strip().splitlines()[-1])["heavy"] == ["numpy"]


def test_every_command_reads_a_config_file():
    """`--config FILE` is offered by every verb (compare included)."""
    for command in COMMANDS:
        output, _ = help_of(command.name)
        assert "--config" in output, command.name
