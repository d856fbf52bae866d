"""The policy server and its client: any agent behind a WebSocket, msgpack-encoded, never pickled.

- ``codec``: msgpack with numpy arrays (openpi-client's encoding), bool/int/float arrays only
- ``protocol``: the requests and replies, the openpi mapping, observation checks
- ``batching``: concurrent clients' ``act`` requests in one model call
- ``server``: ``PolicyServer`` (``gr-bench serve``): metadata, health, token, one session per connection
- ``client``: ``RemoteAgent``, the evaluator's ``--agent ws://HOST:PORT``
- ``cli``: ``gr-bench serve``

Importing this package imports neither websockets nor msgpack; its modules do (the ``[serve]`` extra).
"""

from gr_bench.serve.cli import add_parser

__all__ = ["add_parser"]
