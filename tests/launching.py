"""Running ``rewardkit`` under a real launcher (``accelerate launch``, ``torchrun``) on the CPU,
gloo backend, one thread per process. ``accelerate launch --cpu`` starts one process (several
only through MPI); its torchrun-based launcher, ``--multi_gpu``, starts N processes, and on a
machine without a GPU they join over gloo. Imported by tests through ``sys.path``::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from launching import accelerate_launch, free_port, single_process

:func:`assert_same_model` is the check every launched run is held to: the weights and the
metrics of one process with the global batch.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

SRC = str(Path(__file__).resolve().parents[1] / "src")
# The BT loss does not change when every reward, or every key of an attention head, shifts by
# the same amount, so these biases have a gradient of exactly 0 in exact arithmetic; in floats
# it is rounding noise (~1e-9) that depends on the summation order, and AdamW scales any
# nonzero gradient to a step of about lr: they differ by ~lr between any two summation orders.
ZERO_GRADIENT = ("attention.self.key.bias", "classifier.bias")


def first_pairs(source: Path, folder: Path, count: int) -> Path:
    """A pairs file of the first ``count`` records of ``source`` (JSONL), in ``folder``."""
    lines = Path(source).read_text().splitlines()[:count]
    path = Path(folder) / f"first{count}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_same_model(out: Path, reference: Path, pairs: int) -> None:
    """The run in ``out`` ended at ``reference``'s weights (1e-5; all but the zero-gradient
    biases), with its eval accuracy and ``pairs`` pairs seen."""
    weights, want = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert weights.keys() == want.keys()
    compared = [name for name in want if not name.endswith(ZERO_GRADIENT)]
    assert len(compared) > 30
    for name in compared:
        assert torch.allclose(weights[name], want[name], atol=1e-5, rtol=0), name
    metrics, want_metrics = (json.loads((d / "metrics.json").read_text()) for d in (out, reference))
    assert metrics["accuracy"] == want_metrics["accuracy"]
    assert metrics["training"]["pairs_seen"] == want_metrics["training"]["pairs_seen"] == pairs


def free_port() -> int:
    """A TCP port nobody listens on now (the rendezvous of one launch)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict:
    """This test process's environment for a child: this checkout's sources first, no GPU,
    one thread, no network."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH", "")]))
    env.update(
        CUDA_VISIBLE_DEVICES="",
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    return env


def _run(command: list[str], *, timeout: float, **extra_env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(part) for part in command],
        env=child_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (done.returncode, done.stdout[-3000:], done.stderr[-6000:])
    return done


def single_process(args: list, *, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m rewardkit ARGS`` in a child process."""
    return _run([sys.executable, "-m", "rewardkit", *args], timeout=timeout)


def accelerate_launch(
    args: list,
    *,
    processes: int = 2,
    launcher_options: list | None = None,
    config_file: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``accelerate launch --multi_gpu --num_processes N [OPTIONS] -m rewardkit ARGS``; with a
    ``config_file``, ``--config_file FILE`` instead of ``--multi_gpu`` (the file names the
    engine: ``--multi_gpu`` would override a DeepSpeed config with DDP)."""
    engine = ["--config_file", config_file] if config_file else ["--multi_gpu"]
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *engine,
        "--num_processes",
        processes,
        "--num_cpu_threads_per_process",
        1,
        "--main_process_port",
        free_port(),
        *(launcher_options or []),
        "-m",
        "rewardkit",
        *args,
    ]
    return _run(command, timeout=timeout)


def torchrun(
    args: list, *, processes: int = 2, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node N -m rewardkit ARGS`` (a standalone local rendezvous)."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        processes,
        "--master_port",
        free_port(),
        "-m",
        "rewardkit",
        *args,
    ]
    return _run(command, timeout=timeout)


def two_machines(args: list, *, timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """The same job as two one-process "nodes" on loopback: ``accelerate launch
    --num_machines 2 --machine_rank 0|1`` with a local rendezvous, started side by side."""
    port = free_port()
    children = []
    for rank in (0, 1):
        command = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_machines",
            2,
            "--machine_rank",
            rank,
            "--num_processes",
            2,
            "--num_cpu_threads_per_process",
            1,
            "--main_process_ip",
            "127.0.0.1",
            "--main_process_port",
            port,
            "-m",
            "rewardkit",
            *args,
        ]
        children.append(
            subprocess.Popen(
                [str(part) for part in command],
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for child in children:
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            raise
        assert child.returncode == 0, (child.returncode, out[-3000:], err[-6000:])
        results.append(subprocess.CompletedProcess(child.args, 0, out, err))
    return results
