"""The policy server (gr_bench/serve/): msgpack codec without pickle, metadata, health, token, one
episode stream per connection, batching, faults, and ``--agent ws://`` evaluating as in process."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("websockets")
pytest.importorskip("msgpack")

import serve_agents  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from gr_bench.serve.client import LEGACY, RemoteAgent  # noqa: E402
from gr_bench.serve.codec import CodecError, packb, unpackb  # noqa: E402
from gr_bench.serve.server import PolicyServer  # noqa: E402

OBS = {"rgb_static": np.zeros((8, 8, 3), np.uint8), "robot_obs": np.arange(15, dtype=np.float64), "instruction": "x"}
BOX = {"low": -np.ones(7), "high": np.ones(7)}
TIMING = ("seconds", "agent_seconds", "env_seconds")


@pytest.fixture
def server():
    with PolicyServer("serve_agents:EchoAgent", port=0) as s:
        yield s


def _records(path: Path) -> list[dict]:
    records = [json.loads(line) for line in (path / "episodes.jsonl").read_text().splitlines()]
    for r in records:
        for key in TIMING:
            r.pop(key)
    return sorted(records, key=lambda r: r["episode_id"])


def _raw(server, **kwargs):
    ws = connect(server.url, proxy=None, **LEGACY, **kwargs)
    metadata = unpackb(ws.recv())
    return ws, metadata


def _ask(ws, message) -> dict | str:
    ws.send(message if isinstance(message, str | bytes) else packb(message))
    reply = ws.recv()
    return reply if isinstance(reply, str) else unpackb(reply)


# --- the codec ---


def test_codec_round_trips_arrays_and_refuses_objects():
    message = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.int64(3), "s", 1.5], "c": np.bool_(True)}
    back = unpackb(packb(message))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], message["a"])
    assert back["b"] == [3, "s", 1.5] and back["c"] is np.True_
    with pytest.raises(CodecError, match="dtype object"):
        packb({"x": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CodecError, match="only dicts"):
        packb({"x": object()})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({b"__ndarray__": True, b"data": b"\0" * 8, b"dtype": "|O", b"shape": [1]}, "dtype object refused"),
        ({b"__ndarray__": True, b"data": b"\0" * 8, b"dtype": "<V8", b"shape": [1]}, "refused"),
        ({b"__ndarray__": True, b"data": b"\0" * 7, b"dtype": "<f8", b"shape": [1]}, "needs 8 bytes, got 7"),
        ({b"__ndarray__": True, b"data": b"\0" * 8, b"dtype": "<f8", b"shape": [-1]}, "shape"),
        ({b"__ndarray__": True, b"data": b"\0" * 8, b"dtype": "pickle", b"shape": [1]}, "unknown array dtype"),
        ({b"__npgeneric__": True, b"data": b"x", b"dtype": "<f8"}, "must be a number"),
    ],
)
def test_codec_refuses_malformed_arrays(payload, message):
    import msgpack

    with pytest.raises(CodecError, match=message):
        unpackb(msgpack.packb({"x": payload}))


def test_codec_refuses_garbage_extensions_and_oversized_frames():
    import msgpack

    with pytest.raises(CodecError, match="malformed msgpack"):
        unpackb(b"\xc1\xc1\xc1")
    with pytest.raises(CodecError, match="extension type 5 refused"):
        unpackb(msgpack.packb(msgpack.ExtType(5, b"x")))
    with pytest.raises(CodecError, match="exceeds the limit"):
        unpackb(packb({"x": np.zeros(100)}), max_bytes=100)


# --- the server ---


def test_metadata_on_connect_describes_agent_environments_and_batching(server):
    ws, metadata = _raw(server)
    ws.close()
    assert metadata["type"] == "metadata" and metadata["server"] == "gr-bench" and metadata["protocol"] == 1
    assert metadata["agent"] == "serve_agents:EchoAgent"
    import envs  # noqa: F401
    from envs.family import families

    described = {e["env_id"]: e for e in metadata["environments"]}
    for family in families():
        entry = described[family.env_id]
        assert entry["cameras"] == [c.name for c in family.cameras] and entry["served"]
        assert entry["action_dim"] == family.action_dim == len(entry["action_low"])
    assert metadata["batching"] == {"max_batch": 8, "batched_model": False}


def test_health_endpoint_and_token():
    with PolicyServer("serve_agents:EchoAgent", port=0, token="s3cret") as server:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as response:
            assert response.status == 200 and response.read() == b"OK\n"
        with pytest.raises(ValueError, match="HTTP 401 gr-bench serve: wrong or missing token"):
            RemoteAgent(server.url, token="wrong")
        with pytest.raises(ValueError, match="HTTP 401"):
            RemoteAgent(server.url, token="")
        agent = RemoteAgent(server.url, token="s3cret")
        agent.seed(1)
        agent.reset("open the drawer")
        assert agent.act(OBS)[0].shape == (7,)
        agent.close()


def test_one_episode_stream_per_connection_with_status(server):
    one, two = RemoteAgent(server.url), RemoteAgent(server.url)
    for agent, seed in ((one, 1), (two, 2)):
        agent.seed(seed)
        agent.bind_action_space(type("Box", (), {**BOX, "shape": (7,)}))
        agent.reset(f"task {seed}")
    first = one.act(OBS)[0]
    assert not np.array_equal(first, two.act(OBS)[0])  # each its own agent, seed and instruction
    one.act(OBS)
    status = one.status()
    assert (status["instruction"], status["seed"], status["acts"], status["action_shape"]) == ("task 1", 1, 2, [7])
    assert two.status()["acts"] == 1 and status["connections"] == 2
    one.close(), two.close()


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (b"\xc1not msgpack", "malformed msgpack"),
        ("a text frame", "binary msgpack frames"),
        ({"type": "fly"}, "unknown request type 'fly'"),
        ([1, 2], "a request is a msgpack map"),
        ({"type": "act", "observation": OBS}, "act before reset"),
        ({"type": "seed", "seed": "one"}, "needs 'seed'"),
        ({"type": "reset"}, "needs 'instruction'"),
        ({"type": "bind", "action_space": {"low": np.zeros(3), "high": np.zeros(2)}}, "of one shape"),
    ],
)
def test_bad_requests_are_one_error_frame_and_the_connection_stays(server, request_, message):
    ws, _ = _raw(server)
    if isinstance(request_, bytes):
        ws.send(request_)
        reply = ws.recv()
    else:
        reply = _ask(ws, request_)
    assert isinstance(reply, str) and reply.startswith("gr-bench serve: ") and message in reply
    assert _ask(ws, {"type": "reset", "instruction": "go"}) == {"type": "ok"}
    assert _ask(ws, {"type": "act", "observation": OBS})["action"].shape == (7,)
    ws.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rgb_static", np.zeros((8, 8), np.uint8), "must be a uint8 image of shape"),
        ("rgb_static", np.zeros((8, 8, 3), np.float32), "must be a uint8 image"),
        ("robot_obs", np.zeros((3, 5)), "1-D numeric vector"),
    ],
)
def test_wrong_shapes_are_refused(server, key, value, message):
    agent = RemoteAgent(server.url)
    agent.seed(0)
    agent.reset("go")
    with pytest.raises(RuntimeError, match=message):
        agent.act({**OBS, key: value})
    assert agent.act(OBS)[0].shape == (7,)  # the episode stream goes on
    agent.close()


def test_oversized_message_closes_only_its_connection():
    with PolicyServer("serve_agents:EchoAgent", port=0, max_message_bytes=2**16) as server:
        agent = RemoteAgent(server.url)
        agent.seed(0)
        agent.reset("go")
        with pytest.raises(RuntimeError, match="1009"):
            agent.act({**OBS, "rgb_static": np.zeros((200, 200, 3), np.uint8)})
        with pytest.raises(RuntimeError, match="lost during this episode"):
            agent.act(OBS)
        agent.seed(0)  # the next episode connects again
        agent.reset("go")
        assert agent.act(OBS)[0].shape == (7,)
        agent.close()


def test_refused_robot_is_a_value_error():
    with PolicyServer("serve_agents:TabletopOnlyAgent", port=0) as server:
        agent = RemoteAgent(server.url)
        with pytest.raises(ValueError, match="drives a 7-D arm"):
            agent.bind_action_space(type("Box", (), {"low": -np.ones(19), "high": np.ones(19), "shape": (19,)}))
        assert [e["served"] for e in server.metadata["environments"]].count(True) >= 1
        assert any("refused" in e for e in server.metadata["environments"])
        agent.close()


def test_a_client_leaving_mid_episode_leaves_the_server_serving(server):
    ws, _ = _raw(server)
    _ask(ws, {"type": "reset", "instruction": "go"})
    ws.send(packb({"type": "act", "observation": OBS}))  # and leaves without reading the reply
    ws.close()
    agent = RemoteAgent(server.url)
    agent.seed(0)
    agent.reset("go")
    assert agent.act(OBS)[0].shape == (7,)
    assert agent.status()["connections"] == 1
    agent.close()


def test_concurrent_clients_are_batched_into_one_model_call():
    serve_agents.CALLS["act_batch"].clear()
    with PolicyServer("serve_agents:BatchAgent", port=0, max_batch=8, batch_wait=0.02) as server:
        assert server.metadata["batching"]["batched_model"]
        clients = [RemoteAgent(server.url) for _ in range(8)]
        for i, agent in enumerate(clients):
            agent.seed(i)
            agent.reset("go")
        actions: dict[int, list] = {i: [] for i in range(8)}
        barrier = threading.Barrier(8)

        def run(i):
            for _ in range(5):
                barrier.wait()
                actions[i].append(clients[i].act(OBS)[0])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        [t.start() for t in threads]
        [t.join(60) for t in threads]
        assert max(serve_agents.CALLS["act_batch"]) > 1  # several clients in one model call
        # batching changes nothing: each client's actions are those of its own agent alone
        for i in range(8):
            alone = serve_agents.EchoAgent()
            alone.seed(i)
            alone.reset("go")
            assert np.array_equal(np.stack(actions[i]), np.stack([alone.act(OBS) for _ in range(5)]))
        [c.close() for c in clients]


# --- the evaluator's --agent ws://HOST:PORT ---


@pytest.mark.parametrize("spec", ["random", "gr3"])
def test_evaluating_through_the_server_equals_in_process(tmp_path, spec):
    """Per-episode records over the wire equal in-process evaluation (timings aside)."""
    from gr_bench.agents import with_default_checkpoint
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    if spec == "gr3":
        pytest.importorskip("torch")
    suite = get_suite("smoke").select(episodes=1 if spec == "gr3" else 2)
    config, _ = with_default_checkpoint(spec, {})
    evaluate(suite, spec, tmp_path / "local", agent_config=config or None, progress=False)
    with PolicyServer(spec, config, port=0) as server:
        evaluate(suite, server.url, tmp_path / "remote", progress=False)
    assert _records(tmp_path / "remote") == _records(tmp_path / "local")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_server_dying_mid_run_fails_its_episodes_and_the_run_resumes(tmp_path, workers):
    """The episodes in flight fail as agent_error; the next one finds no server and stops the run
    (in this process or in a worker), unrecorded; --resume with the server back finishes it."""
    from gr_bench.agents import RunStopped
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    suite = get_suite("smoke").select(episodes=3)
    config = {"connect_seconds": 1.0}
    server = PolicyServer("serve_agents:EchoAgent", port=0).start_in_thread()
    port, acts = server.port, []

    def die_at_tenth_act():
        acts.append(1)
        if len(acts) == 10:
            server._loop.call_soon_threadsafe(server._stop.set_result, None)

    serve_agents.ON_ACT.append(die_at_tenth_act)
    try:
        with pytest.raises(RunStopped, match="cannot reach the policy server.*--resume"):
            evaluate(suite, server.url, tmp_path / "run", agent_config=config, workers=workers, progress=False)
    finally:
        serve_agents.ON_ACT.clear()
        server.stop()
    first = _records(tmp_path / "run")
    assert 1 <= len(first) <= workers and all(r["failure"]["kind"] == "agent_error" for r in first)
    assert all("closed the connection" in r["failure"]["message"] for r in first)
    with PolicyServer("serve_agents:EchoAgent", port=port) as again:
        results = evaluate(
            suite, again.url, tmp_path / "run", agent_config=config, workers=workers, resume=True, progress=False
        )
    records = _records(tmp_path / "run")
    assert sorted(r["episode_id"] for r in records) == sorted(e.episode_id for e in suite.episodes)
    assert [r["failure"] is None for r in records].count(True) == 3 - len(first) and len(results["episodes"]) == 3


# --- the command line ---


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("gr-bench: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent", "oracle"], "privileged"),
        (["--agent", "nope"], "unknown agent"),
        (["--agent", "random", "--port", "0"], "--port must be in 1..65535"),
        (["--agent", "random", "--max-batch", "0"], "--max-batch must be at least 1"),
        (["--agent", "random", "--token-file", "/no/such/file"], "cannot read the token file"),
        (["--agent", "ws://127.0.0.1:9"], "not another server"),
    ],
)
def test_serve_bad_input_is_one_line(capsys, args, message):
    from gr_bench.cli import main

    assert main(["serve", *args]) == 2
    assert message in _error(capsys)


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("ws://127.0.0.1:9", "cannot reach the policy server at ws://127.0.0.1:9"),
        ("ws://127.0.0.1", "ws://HOST:PORT"),
    ],
)
def test_eval_of_an_unreachable_server_is_one_line_and_leaves_no_run(tmp_path, capsys, agent, message):
    from gr_bench.cli import main

    out = tmp_path / "run"
    args = ["eval", "--agent", agent, "--suite", "smoke", "--set", "connect_seconds=0.5", "--out", str(out)]
    assert main(args) == 2
    assert message in _error(capsys) and not out.exists()


def test_eval_with_a_wrong_token_is_one_line(tmp_path, capsys, monkeypatch):
    from gr_bench.cli import main

    with PolicyServer("random", port=0, token="right") as server:
        monkeypatch.setenv("GR_BENCH_TOKEN", "wrong")
        assert main(["eval", "--agent", server.url, "--suite", "smoke", "--out", str(tmp_path / "run")]) == 2
    assert "HTTP 401" in _error(capsys) and not (tmp_path / "run").exists()


# --- openpi-client, the real package from PyPI ---


def test_openpi_client_gets_actions(server):
    """openpi's WebsocketClientPolicy: metadata on connect, ``prompt`` as the instruction, ``actions``
    of shape (1, action_dim); its api_key is our token."""
    policy_module = pytest.importorskip("openpi_client.websocket_client_policy")
    policy = policy_module.WebsocketClientPolicy(host="127.0.0.1", port=server.port)
    assert policy.get_server_metadata()["server"] == "gr-bench"
    observation = {k: v for k, v in OBS.items() if k != "instruction"}
    reply = policy.infer({**observation, "prompt": "open the drawer"})
    assert reply["actions"].shape == (1, 7) and reply["status"] == "ongoing" and reply["server_timing"]["infer_ms"] > 0
    alone = serve_agents.EchoAgent()
    alone.reset("open the drawer")
    assert np.array_equal(reply["actions"][0], alone.act(OBS))
    with pytest.raises(RuntimeError, match="must be a uint8 image"):
        policy.infer({**observation, "rgb_static": np.zeros((4, 4), np.uint8), "prompt": "x"})
    with PolicyServer("serve_agents:EchoAgent", port=0, token="k") as guarded:
        keyed = policy_module.WebsocketClientPolicy(host=f"ws://127.0.0.1:{guarded.port}", api_key="k")
        assert keyed.infer({**observation, "prompt": "go"})["actions"].shape == (1, 7)
        import websockets

        with pytest.raises(websockets.InvalidStatus):
            policy_module.WebsocketClientPolicy(host=f"ws://127.0.0.1:{guarded.port}", api_key="nope")


def test_gr3_sessions_share_the_model_and_act_as_a_fresh_agent():
    """GR-3's fork(): what each server connection gets, the weights shared, the state its own."""
    pytest.importorskip("torch")
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.family import families
    from gr_bench.agents import make_agent

    served = make_agent("gr3")
    family = families()[0]
    env = gym.make(family.env_id, cameras=())
    space = env.action_space
    env.close()
    rng = np.random.default_rng(0)
    observation = {
        k: rng.integers(0, 255, (c.default_size,) * 2 + (3,), np.uint8)
        for k, c in zip(family.camera_keys, family.cameras, strict=True)
    }
    observation |= {"robot_obs": rng.standard_normal(len(family.robot_obs_names)), "instruction": "open the drawer"}
    served.bind_action_space(space)
    served.reset("something else")
    served.act(observation)  # the server's own agent has state: a fork starts clean all the same
    actions = []
    for agent in (served.fork(), make_agent("gr3")):
        agent.seed(5)
        agent.bind_action_space(space)
        agent.reset("open the drawer")
        actions.append(np.stack([agent.act(observation)[0] for _ in range(3)]))
    assert served.fork().model is served.model
    assert np.array_equal(actions[0], actions[1])


def test_gr_bench_serve_and_eval_end_to_end(tmp_path):
    """The README's example: `gr-bench serve` in its own process, `gr-bench eval --agent ws://`."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from gr_bench.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "token").write_text("t0ken\n")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gr_bench.cli",
            "serve",
            "--agent",
            "random",
            "--port",
            str(port),
            "--token-file",
            str(tmp_path / "token"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MUJOCO_GL": "egl", "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.read() == b"OK\n"
                    break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.5)
        os.environ["GR_BENCH_TOKEN"] = "t0ken"
        try:
            out = tmp_path / "run"
            assert (
                main(
                    [
                        "eval",
                        "--agent",
                        f"ws://127.0.0.1:{port}",
                        "--suite",
                        "smoke",
                        "--episodes",
                        "1",
                        "--out",
                        str(out),
                    ]
                )
                == 0
            )
        finally:
            del os.environ["GR_BENCH_TOKEN"]
        results = json.loads((out / "results.json").read_text())
        assert results["agent"]["name"] == f"ws://127.0.0.1:{port}" and len(results["episodes"]) == 1
    finally:
        server.terminate()
        server.wait(30)
