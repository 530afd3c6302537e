"""The course's Jupyter server configuration: what `make lab`, Binder and the browser tests start.

For a JupyterLab (or Notebook 7) you start yourself, one line gives you the same:

    jupyter lab --config=/path/to/course/jupyter/jupyter_server_config.py

What it sets, each through a configuration point of jupyter_server / JupyterLab:
- the kernel websocket with TCP_NODELAY (course_websocket.py beside this file): without it the
  small frames of a widget update can wait ~40 ms on Nagle's algorithm and delayed ACKs;
- kernels on IPC transport (Unix sockets in Jupyter's private runtime folder) instead of TCP
  ports on 127.0.0.1, where the platform allows: no other local user can reach a kernel, and
  ipykernel 7 no longer warns "Kernel is running over TCP without encryption";
- JupyterLab's settings defaults from settings/overrides.json: a notebook's kernel is shut down
  when its tab closes (kernelShutdown), and no news or update checks over the network.
The address is left to the command line (`make lab` and the tests: 127.0.0.1, with a token;
Binder's hub chooses its own inside the container).
"""

import os
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # course_websocket, importable by the server

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.ServerApp.kernel_websocket_connection_class = "course_websocket.NoDelayWebsocketConnection"
c.LabServerApp.app_settings_dir = str(HERE / "settings")  # overrides.json lives there

# A kernel's sockets are files <runtime>/kernel-<uuid>-ipc-<n>; a Unix socket path must stay
# under ~104 bytes (macOS; 108 on Linux). Where it would not fit, kernels stay on TCP.
IPC_PATH_LIMIT = 100
_ipc_socket = os.path.join(jupyter_runtime_dir(),
                           "kernel-00000000-0000-0000-0000-000000000000-ipc-99")
if os.name == "posix" and len(_ipc_socket.encode()) <= IPC_PATH_LIMIT:
    c.KernelManager.transport = "ipc"
