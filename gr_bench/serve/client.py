"""``--agent ws://HOST:PORT``: an agent whose every hook is a request to a ``gr-bench serve`` server.

``RemoteAgent`` keeps the Agent contract (``seed``, ``bind_action_space``, ``reset``, ``act``), so
the evaluator runs it like any agent and records the same episodes as with the agent in process.
The token comes from ``token`` or the ``GR_BENCH_TOKEN`` environment variable (never the run's
recorded config). What can go wrong, and what it does to the run:

- an error the server reports (a refused robot, an agent exception, a malformed observation)
  raises ``RuntimeError`` (``ValueError`` from ``bind_action_space``, "not my robot"): that episode
  fails as ``agent_error``;
- the connection breaks mid-episode (the server died, a time-out interrupted a request): that
  episode fails as ``agent_error`` and the next one connects again;
- the server cannot be reached at the start of an episode (after ``reconnect_seconds`` of tries):
  ``PolicyServerGone`` stops the run without recording that episode, so ``--resume`` runs it once
  the server is back.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from gr_bench.agents import RunStopped
from gr_bench.serve.codec import packb, plain_keys, unpackb
from gr_bench.serve.protocol import ERROR_PREFIX, PROTOCOL_VERSION, action_space_message

URL_SCHEMES = ("ws://", "wss://")
TOKEN_VARIABLE = "GR_BENCH_TOKEN"


def _legacy() -> dict[str, bool]:
    """websockets' sync ``connect`` returns a plain connection; from the releases that will change
    that, ask for it (without their deprecation warning)."""
    import inspect

    import websockets.sync.client

    return {"legacy": True} if "legacy" in inspect.signature(websockets.sync.client.connect).parameters else {}


LEGACY = _legacy()


def is_remote(spec: str) -> bool:
    return spec.startswith(URL_SCHEMES)


class PolicyServerGone(RunStopped):
    """The policy server cannot be reached: the run stops, resumably."""


class RemoteAgent:
    """Args:
    url: ``ws://host:port`` of a ``gr-bench serve`` server.
    token: its shared secret (default: ``$GR_BENCH_TOKEN``).
    connect_seconds: how long to try to reach the server at the start (and at each reconnection).
    """

    def __init__(self, url: str, token: str | None = None, connect_seconds: float = 10.0, max_message_mib: int = 64):
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.port is None:
            raise ValueError(f"a policy server is given as ws://HOST:PORT, got {url!r}")
        self.url = url
        self.token = token if token is not None else os.environ.get(TOKEN_VARIABLE) or None
        self.connect_seconds = connect_seconds
        self.max_size = max_message_mib * 2**20
        self._connection = None
        self.metadata: dict[str, Any] = {}
        self._connect(first=True)

    # --- the connection ---

    def _connect(self, first: bool = False) -> None:
        import websockets
        import websockets.sync.client

        headers = {"Authorization": f"Api-Key {self.token}"} if self.token else None
        deadline = time.monotonic() + self.connect_seconds
        while True:
            try:
                connection = websockets.sync.client.connect(
                    self.url,
                    additional_headers=headers,
                    compression=None,
                    max_size=self.max_size,
                    proxy=None,
                    open_timeout=max(1.0, self.connect_seconds),
                    **LEGACY,
                )
                break
            except websockets.InvalidStatus as exc:  # refused by the server: trying again will not help
                body = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
                raise ValueError(
                    f"policy server {self.url} refused the connection: HTTP {exc.response.status_code} {body}".strip()
                ) from None
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                if time.monotonic() > deadline:
                    message = f"cannot reach the policy server at {self.url} ({type(exc).__name__}: {exc})"
                    if first:
                        raise ValueError(message + "; is `gr-bench serve` running there?") from None
                    raise PolicyServerGone(
                        message + "; the run stopped here: start the server again and finish the run with --resume"
                    ) from None
                time.sleep(0.2)
        metadata = plain_keys(unpackb(connection.recv(timeout=max(10.0, self.connect_seconds))))
        if not isinstance(metadata, dict) or metadata.get("server") != "gr-bench":
            connection.close()
            raise ValueError(f"{self.url} is not a gr-bench policy server (its first message: {str(metadata)[:80]})")
        if metadata.get("protocol") != PROTOCOL_VERSION:
            connection.close()
            raise ValueError(
                f"policy server {self.url} speaks protocol {metadata.get('protocol')}, this gr-bench {PROTOCOL_VERSION}"
            )
        self._connection, self.metadata = connection, metadata

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self._connection.close()
            self._connection = None

    def _request(self, message: dict[str, Any], *, new_episode: bool = False) -> dict[str, Any]:
        """Send one request, return its reply. A broken connection is thrown away: mid-episode the
        request fails; at the start of an episode (``seed``, which the evaluator calls first) the
        agent connects again, or stops the run."""
        import websockets

        if self._connection is None:
            if not new_episode:
                raise RuntimeError(f"the connection to the policy server {self.url} was lost during this episode")
            self._connect()
        try:
            self._connection.send(packb(message))
            reply = self._connection.recv()
        except websockets.ConnectionClosed as exc:
            self._drop()
            reason = f" (code {exc.rcvd.code}: {exc.rcvd.reason})" if exc.rcvd else ""
            raise RuntimeError(f"the policy server {self.url} closed the connection{reason}") from None
        except BaseException:  # a time-out interrupted it: the reply, if any, would answer the wrong request
            self._drop()
            raise
        if isinstance(reply, str):
            raise RuntimeError(reply.removeprefix(ERROR_PREFIX))
        return plain_keys(unpackb(reply))

    # --- the Agent contract ---

    def seed(self, seed: int) -> None:
        self._request({"type": "seed", "seed": int(seed)}, new_episode=True)

    def bind_action_space(self, space) -> None:
        try:
            self._request({"type": "bind", "action_space": action_space_message(space)})
        except RuntimeError as exc:  # the served agent does not drive this robot
            raise ValueError(str(exc)) from None

    def reset(self, instruction: str) -> None:
        self._request({"type": "reset", "instruction": instruction})

    def act(self, observation: dict[str, Any]) -> tuple[np.ndarray, str]:
        reply = self._request({"type": "act", "observation": observation})
        return np.asarray(reply["action"]), reply["status"]

    def status(self) -> dict[str, Any]:
        return self._request({"type": "status"}, new_episode=True)

    def close(self) -> None:
        self._drop()
