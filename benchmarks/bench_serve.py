"""The policy server (``gr-bench serve``) over loopback: per-request latency, and what batching
concurrent clients' requests into one model call gains.

Server and clients run in this process (the server on its threads), so the gated CPU time is the
whole request's: encoding, WebSocket, decoding, the agent, the reply. Each request carries an
observation of the first registered family at its collection size (its cameras' images and
``robot_obs``). Wall-clock figures go to ``extra_info``: per-request latency percentiles (p50, p95,
p99, ms) of one client, and requests per wall second of 8 clients. Older revisions have no server:
there this module is skipped.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

try:  # a revision before the server has nothing to measure (and must not borrow another tree's server)
    import gr_bench
    from gr_bench.serve.client import RemoteAgent
    from gr_bench.serve.server import PolicyServer

    if Path(sys.modules["gr_bench.serve"].__file__).parents[1] != Path(gr_bench.__file__).parent:
        raise ImportError("gr_bench.serve is not this tree's")
except ImportError as exc:
    pytest.skip(f"no policy server in this revision ({exc})", allow_module_level=True)
torch = pytest.importorskip("torch")

REQUESTS = 200  # per round, one client
CLIENTS = 8
CLIENT_REQUESTS = 25  # per client per round


def _observation() -> dict:
    import envs  # noqa: F401  (registers the built-in families)
    from envs.family import families

    family = families()[0]
    rng = np.random.default_rng(0)
    obs = {f"rgb_{c.name}": rng.integers(0, 255, (c.default_size, c.default_size, 3), np.uint8) for c in family.cameras}
    obs["robot_obs"] = rng.standard_normal(len(family.robot_obs_names))
    obs["instruction"] = "open the drawer"
    return obs


class EchoAgent:
    """No model: the figure is the server's and the protocol's own cost."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7)


class MLPAgent:
    """A small torch policy (the first camera, 32x32, through a 3-layer MLP), with ``act_batch``:
    a stand-in for a model whose call has a fixed cost that batching shares."""

    MODEL = None

    def __init__(self):
        if MLPAgent.MODEL is None:  # one set of weights for every session, as a served model has
            torch.manual_seed(0)
            MLPAgent.MODEL = torch.nn.Sequential(
                torch.nn.Linear(32 * 32 * 3, 1024),
                torch.nn.ReLU(),
                torch.nn.Linear(1024, 1024),
                torch.nn.ReLU(),
                torch.nn.Linear(1024, 7),
            ).eval()

    def reset(self, instruction):
        pass

    @staticmethod
    def _input(observation):
        image = next(v for k, v in observation.items() if k.startswith("rgb_"))
        step = max(1, image.shape[0] // 32)
        return torch.from_numpy(np.ascontiguousarray(image[::step, ::step][:32, :32])).float().flatten() / 255

    @torch.inference_mode()
    def act(self, observation):
        return self.MODEL(self._input(observation)[None])[0].numpy().astype(np.float64)

    @torch.inference_mode()
    def act_batch(self, agents, observations):
        out = self.MODEL(torch.stack([self._input(o) for o in observations])).numpy().astype(np.float64)
        return list(out)


def _spec(name: str) -> str:
    return f"{__name__}:{name}"  # this module, as imported (make_agent resolves module:Class)


def test_serve_latency(figure, benchmark):
    """One client's act() round trips over loopback: the server's and protocol's cost per request."""
    assert sys.modules[__name__].EchoAgent is EchoAgent
    observation = _observation()
    latencies: list[float] = []
    with PolicyServer(_spec("EchoAgent"), port=0) as server:
        client = RemoteAgent(server.url)
        client.seed(0)
        client.reset("open the drawer")

        def run():
            for _ in range(REQUESTS):
                start = time.perf_counter()
                client.act(observation)
                latencies.append(time.perf_counter() - start)

        figure(run, group="policy server", calls=REQUESTS, unit="requests")
        client.close()
    ms = np.asarray(latencies[REQUESTS:] or latencies) * 1000  # after the warm-up round (if there was one)
    benchmark.extra_info.update(
        {f"latency_p{q}_ms": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}
        | {"observation_bytes": int(sum(v.nbytes for v in observation.values() if isinstance(v, np.ndarray)))}
    )


@pytest.mark.parametrize("max_batch", [CLIENTS, 1], ids=["batched", "unbatched"])
def test_serve_batching(figure, benchmark, max_batch):
    """8 clients at once against a model with ``act_batch``: batched (up to 8 requests per model
    call) or not (``--max-batch 1``)."""

    observation = _observation()
    walls: list[float] = []
    with PolicyServer(_spec("MLPAgent"), port=0, max_batch=max_batch) as server:
        clients = [RemoteAgent(server.url) for _ in range(CLIENTS)]
        for client in clients:
            client.seed(0)
            client.reset("open the drawer")

        def one(client):
            for _ in range(CLIENT_REQUESTS):
                client.act(observation)

        def run():
            start = time.perf_counter()
            threads = [threading.Thread(target=one, args=(c,)) for c in clients]
            [t.start() for t in threads]
            [t.join() for t in threads]
            walls.append(time.perf_counter() - start)

        figure(run, group="policy server", calls=CLIENTS * CLIENT_REQUESTS, unit="requests")
        sizes = server.batcher.sizes
        [c.close() for c in clients]
    benchmark.extra_info.update(
        requests_per_wall_second=[round(CLIENTS * CLIENT_REQUESTS / w, 1) for w in walls[1:] or walls],
        mean_batch=round(float(np.mean(sizes)), 2),
    )
