"""``gr-bench serve``: any registered agent behind a WebSocket, one episode stream per connection.

The server builds the agent once (its own instance: the metadata, and ``act_batch`` where the
agent has it) and one agent per connection (``fork()`` of its own where the agent has that hook,
sharing the weights; else built again from the same spec and config), so connections never share
episode state. Agent code runs on one thread; concurrent ``act`` requests are batched
(``batching.Batcher``). ``GET /healthz`` answers ``OK`` without a token; with a token, a
WebSocket upgrade needs ``Authorization: Api-Key TOKEN`` (openpi-client's ``api_key``) or
``Bearer TOKEN``, and is refused with HTTP 401 otherwise. Messages: ``gr_bench.serve.protocol``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import threading
import time
from http import HTTPStatus
from typing import Any

import numpy as np

from gr_bench.serve.batching import Batcher
from gr_bench.serve.codec import packb, plain_keys, unpackb
from gr_bench.serve.protocol import (
    HEALTH_PATH,
    OPENPI_PROMPT,
    PROTOCOL_VERSION,
    ProtocolError,
    action_space_from,
    check_observation,
    error_text,
    field,
    request_type,
)

DEFAULT_PORT = 8000  # openpi's
MAX_MESSAGE_BYTES = 64 * 2**20  # a request larger than this closes its connection (code 1009)


class _Session:
    """One connection's agent and the state of its episode stream."""

    def __init__(self, agent):
        self.agent = agent
        self.instruction: str | None = None
        self.seed: int | None = None
        self.action_shape: tuple[int, ...] | None = None
        self.acts = 0
        self.status = "ongoing"

    def describe(self) -> dict[str, Any]:
        return {
            "type": "status",
            "instruction": self.instruction,
            "seed": self.seed,
            "action_shape": list(self.action_shape) if self.action_shape else None,
            "acts": self.acts,
            "status": self.status,
        }


def _guarded(fn):
    """Agent code: ``os._exit`` in it raises instead of ending the server; anything it raises
    comes back as an ordinary exception."""
    from gr_bench.agents import AgentExit, exit_guard

    try:
        with exit_guard():
            return fn()
    except AgentExit as exc:
        raise RuntimeError(str(exc)) from None
    except SystemExit as exc:
        raise RuntimeError(f"agent code called sys.exit({exc.code!r})") from None


class PolicyServer:
    """Serves ``agent_spec`` (built from ``agent_config``) on ``host:port`` (port 0: any free one;
    ``port`` holds the real one once started)."""

    def __init__(
        self,
        agent_spec: str,
        agent_config: dict | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        token: str | None = None,
        max_batch: int = 8,
        batch_wait: float = 0.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ):
        from gr_bench.agents import make_agent

        self.agent_spec, self.agent_config = agent_spec, dict(agent_config or {})
        self.host, self.port, self.token = host, port, token or None
        self.max_message_bytes = max_message_bytes
        self.agent = make_agent(agent_spec, self.agent_config or None)
        if getattr(self.agent, "privileged", False):
            raise ValueError(f"agent {agent_spec!r} reads simulator state (privileged): it cannot be served")
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gr-bench-agent")
        self.batcher = Batcher(self._executor, self._run_batch, max_batch, batch_wait)
        self.metadata = server_metadata(self)
        self.connections = 0  # open now
        self.started = time.time()
        self._server = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    # --- agent work, on the agent thread ---

    def _new_agent(self):
        from gr_bench.agents import make_agent

        fork = getattr(self.agent, "fork", None)
        return _guarded(fork if callable(fork) else lambda: make_agent(self.agent_spec, self.agent_config or None))

    def _run_batch(self, items: list[tuple[_Session, dict]]) -> list[Any]:
        from agents.base import split_status

        outputs: list[Any] | None = None
        batch = getattr(self.agent, "act_batch", None)
        if callable(batch) and len(items) > 1:
            try:
                outputs = list(_guarded(lambda: batch([s.agent for s, _ in items], [o for _, o in items])))
                if len(outputs) != len(items):
                    outputs = None
            except Exception:  # noqa: BLE001 - answered one by one below, so only the faulty request fails
                outputs = None
        results: list[Any] = []
        for index, (session, observation) in enumerate(items):
            try:
                output = outputs[index] if outputs is not None else _guarded(lambda: session.agent.act(observation))  # noqa: B023
                action, status = split_status(output)
                results.append((action, status))
            except Exception as exc:  # noqa: BLE001 - goes back to that client as an error frame
                results.append(exc)
        return results

    # --- one connection ---

    async def _handle(self, connection) -> None:
        import websockets

        try:
            session = _Session(await self.batcher.run(self._new_agent))
        except Exception as exc:  # noqa: BLE001 - the client is told, the server goes on
            await connection.close(1011, error_text(exc)[:120])
            return
        self.connections += 1
        try:
            await connection.send(packb(self.metadata))
            async for frame in connection:
                try:
                    reply = await self._reply(session, frame)
                except Exception as exc:  # noqa: BLE001 - one error frame; the connection stays open
                    await connection.send(error_text(exc))
                else:
                    await connection.send(packb(reply))
        except websockets.ConnectionClosed:
            pass  # the client left, mid-episode or not: its session is dropped
        finally:
            self.connections -= 1

    async def _reply(self, session: _Session, frame: Any) -> dict[str, Any]:
        if isinstance(frame, str):
            raise ProtocolError("requests are binary msgpack frames, not text")
        message = plain_keys(unpackb(frame, self.max_message_bytes))
        kind = request_type(message)
        if kind is None:  # openpi-client: the map is the observation, with the instruction as its prompt
            return await self._openpi(session, message)
        if kind == "act":
            if session.instruction is None:
                raise ProtocolError("act before reset: send {'type': 'reset', 'instruction': ...} first")
            observation = check_observation(message.get("observation"))
            action, status = await self._act(session, observation)
            return {"type": "action", "action": action, "status": status}
        if kind == "status":
            return session.describe() | {"batches": len(self.batcher.sizes), "connections": self.connections}
        if kind == "seed":
            seed = field(message, "seed", int, "a whole number")
            hook = getattr(session.agent, "seed", None)
            if callable(hook):
                await self.batcher.run(lambda: _guarded(lambda: hook(seed)))
            session.seed = seed
        elif kind == "bind":
            space = action_space_from(message.get("action_space"))
            hook = getattr(session.agent, "bind_action_space", None)
            if callable(hook):
                await self.batcher.run(lambda: _guarded(lambda: hook(space)))
            session.action_shape = space.shape
        elif kind == "reset":
            instruction = field(message, "instruction", str, "the task's instruction")
            await self.batcher.run(lambda: _guarded(lambda: session.agent.reset(instruction)))
            session.instruction, session.status = instruction, "ongoing"
        return {"type": "ok"}

    async def _act(self, session: _Session, observation: dict) -> tuple[np.ndarray, str]:
        action, status = await self.batcher.submit(session, observation)
        session.acts += 1
        session.status = status
        return action, status

    async def _openpi(self, session: _Session, observation: dict) -> dict[str, Any]:
        started = time.perf_counter()
        prompt = observation.get(OPENPI_PROMPT)
        if prompt is not None and not isinstance(prompt, str):
            raise ProtocolError(f"{OPENPI_PROMPT!r} must be the instruction, a string")
        if prompt is not None and prompt != session.instruction:
            await self.batcher.run(lambda: _guarded(lambda: session.agent.reset(prompt)))
            session.instruction, session.status = prompt, "ongoing"
        if session.instruction is None:
            raise ProtocolError(f"the first observation needs {OPENPI_PROMPT!r}: the instruction")
        observation = {k: v for k, v in observation.items() if k != OPENPI_PROMPT}
        observation["instruction"] = session.instruction
        action, status = await self._act(session, check_observation(observation))
        infer_ms = (time.perf_counter() - started) * 1000
        return {"actions": action[None, :], "status": status, "server_timing": {"infer_ms": infer_ms}}

    # --- the server ---

    def _process_request(self, connection, request):
        if request.path == HEALTH_PATH:
            return connection.respond(HTTPStatus.OK, "OK\n")
        if self.token is None:
            return None
        given = request.headers.get("Authorization", "")
        scheme, _, secret = given.partition(" ")
        if scheme not in ("Api-Key", "Bearer") or not hmac.compare_digest(secret.encode(), self.token.encode()):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "gr-bench serve: wrong or missing token\n")
        return None

    async def serve(self, stop: asyncio.Future | None = None) -> None:
        """Serve until ``stop`` is done (forever without one)."""
        import websockets.asyncio.server

        self._loop = asyncio.get_running_loop()
        async with websockets.asyncio.server.serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            max_size=self.max_message_bytes,
            compression=None,
            server_header="gr-bench-serve",
        ) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await (stop if stop is not None else asyncio.get_running_loop().create_future())

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start_in_thread(self) -> PolicyServer:
        """Serve from a daemon thread (tests, benchmarks); ``stop()`` ends it."""

        def run():
            loop = asyncio.new_event_loop()
            self._stop = loop.create_future()
            loop.run_until_complete(self.serve(self._stop))
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="gr-bench-serve")
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the policy server did not start")
        return self

    def stop(self) -> None:
        stop = getattr(self, "_stop", None)
        if self._loop is not None and stop is not None and not stop.done():
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
            self._thread.join(10)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> PolicyServer:
        return self.start_in_thread()

    def __exit__(self, *exc) -> None:
        self.stop()


def server_metadata(server: PolicyServer) -> dict[str, Any]:
    """What a client hears on connecting: the agent, and per registered environment family whether
    the agent serves it, with its cameras, observation and action layout (from the family's
    descriptor), chunking where the agent has it, and the batching on offer."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the built-in families)
    from envs.family import families
    from gr_bench.evaluator.run_directory import checkpoint_of

    bind = getattr(server.agent, "bind_action_space", None)
    environments = []
    for family in families():
        env = gym.make(family.env_id, cameras=())
        try:
            space = env.action_space
            refused = None
            if callable(bind):
                try:
                    _guarded(lambda: bind(space))  # noqa: B023
                except Exception as exc:  # noqa: BLE001 - listed as refused, with the reason
                    refused = " ".join(str(exc).split())
        finally:
            env.close()
        environments.append(
            {
                "family": family.id,
                "env_id": family.env_id,
                "robot": family.robot,
                "served": refused is None,
                **({"refused": refused} if refused else {}),
                "cameras": [c.name for c in family.cameras],
                "camera_keys": list(family.camera_keys),
                "robot_obs": list(family.robot_obs_names),
                "action_dim": int(space.shape[0]),
                "action_layout": [[name, width] for name, width in family.action_layout],
                "action_low": np.asarray(space.low, dtype=np.float64),
                "action_high": np.asarray(space.high, dtype=np.float64),
            }
        )
    config = getattr(server.agent, "config", None)
    chunking = {
        "chunk": getattr(config, "chunk", None),
        "execute_steps": getattr(server.agent, "execute_steps", None),
    }
    return {
        "type": "metadata",
        "server": "gr-bench",
        "protocol": PROTOCOL_VERSION,
        "agent": server.agent_spec,
        "agent_config": _plain(server.agent_config),
        "checkpoint_sha256": checkpoint_of(server.agent_config or None),
        "environments": environments,
        "chunking": {k: v for k, v in chunking.items() if isinstance(v, int)},
        "batching": {
            "max_batch": server.batcher.max_batch,
            "batched_model": callable(getattr(server.agent, "act_batch", None)),
        },
        "openpi": {"prompt": "instruction", "actions": "(1, action_dim): the one action for this observation"},
    }


def _plain(value: Any) -> Any:
    """A config as msgpack can carry it (anything else as its text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
