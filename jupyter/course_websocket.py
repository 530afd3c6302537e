"""The kernel websocket of the course's Jupyter server, with TCP_NODELAY on (issue 16).

One slider move sends the browser several small websocket frames (busy, echo_update, the new
state, idle). On a socket without TCP_NODELAY, Nagle's algorithm holds a small frame back until
the previous one is acknowledged, and the browser may delay that ACK by up to ~40 ms. tornado's
`WebSocketHandler.set_nodelay` docstring: "By default, small messages may be delayed and/or
combined to minimize the number of packets sent. This can sometimes cause 200-500ms delays due
to the interaction between Nagle's algorithm and TCP delayed ACKs. To reduce this delay [...]
call ``self.set_nodelay(True)`` once the websocket connection is established."

jupyter_server (2.21) never calls it; its supported hook is the configurable
`ServerApp.kernel_websocket_connection_class`, which jupyter_server_config.py beside this file
sets to the class below. benchmarks/browser_latency.py measures the difference.
"""

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayWebsocketConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel websocket connection, with Nagle's algorithm off once it is open."""

    def connect(self):
        # Called from KernelWebsocketHandler.open(): the websocket is established by now.
        self.websocket_handler.set_nodelay(True)
        return super().connect()
