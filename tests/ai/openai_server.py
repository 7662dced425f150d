"""An OpenAI-compatible chat-completions server on 127.0.0.1, scripted by the test.

It answers ``POST /v1/chat/completions`` the way OpenAI, vLLM or LM Studio would: what
a careful model would say to a rehearse prompt (:func:`rehearse.ai.fakes.scripted_reply`)
as JSON content when the request asks for a ``json_schema`` response format (native
output), else as a tool call of the request's output tool, with a ``usage`` block. With
``refuse_schema`` it answers a ``json_schema`` response format with HTTP 500 and a
validation message, as llama-cpp-python 0.3's server does. A test queues other replies (a 429, a 500, garbage text, a slow reply, exact
usage) in ``script``; every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rehearse.ai.fakes import scripted_reply


@dataclass
class Reply:
    """One scripted reply.

    Attributes:
        status: HTTP status (200, 429, 500 ...).
        text: plain content instead of a tool call (garbage for a structured task).
        arguments: tool-call arguments (default: the scripted reply to the prompt).
        usage: ``(prompt_tokens, completion_tokens)`` to report (default: the server's).
        delay: seconds to wait before replying.
        retry_after: ``Retry-After`` seconds on an error reply.
    """

    status: int = 200
    text: str | None = None
    arguments: dict[str, Any] | None = None
    usage: tuple[int, int] | None = None
    delay: float = 0.0
    retry_after: float | None = None


@dataclass
class FakeOpenAI:
    """The server; ``start()`` binds a free port on 127.0.0.1, ``stop()`` closes it.

    Attributes:
        usage: tokens reported when a reply does not say, ``(prompt, completion)``.
        refuse_schema: answer a ``json_schema`` response format with 500 (llama-cpp-python).
        script: replies used first, in order; then every request gets a default reply.
        requests: every request body received, in order.
    """

    usage: tuple[int, int] = (120, 40)
    refuse_schema: bool = False
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give as ``OPENAI_BASE_URL``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, headers, delay = fake._answer(self.path, body)
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def tasks(self) -> list[str]:
        """The rehearse task of each request (``plan``, ``evaluate`` ...), in order."""
        found = []
        for body in self.requests:
            prompt = _last_user_text(body)
            found.append(prompt.partition("\n")[0].removeprefix("Task: ").split(" ")[0])
        return found

    def _answer(
        self, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str], float]:
        with self._lock:
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else Reply()
        if not path.endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {path}"}}, {}, 0.0
        native = (body.get("response_format") or {}).get("type") == "json_schema"
        if native and self.refuse_schema:
            with self._lock:
                self.script.insert(0, reply)  # the scripted reply waits for the real request
            detail = [
                {
                    "loc": ["body", "response_format", "type"],
                    "msg": "Input should be 'text' or 'json_object'",
                    "type": "literal_error",
                }
            ]
            return 500, {"detail": detail}, {}, 0.0
        headers = {}
        if reply.retry_after is not None:
            headers["retry-after"] = str(reply.retry_after)
        if reply.status != 200:
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            error = {"error": {"message": f"scripted {reply.status}", "type": kind, "code": kind}}
            return reply.status, error, headers, reply.delay
        prompt_tokens, completion_tokens = reply.usage or self.usage
        message: dict[str, Any] = {"role": "assistant", "content": None}
        tools = body.get("tools") or []
        arguments = reply.arguments
        if arguments is None and reply.text is None and (tools or native):
            arguments = scripted_reply(_last_user_text(body))
        if native and reply.text is None and arguments is not None:
            message["content"] = json.dumps(arguments)
            finish = "stop"
        elif reply.text is not None or not tools or arguments is None:
            message["content"] = reply.text if reply.text is not None else "OK"
            finish = "stop"
        else:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {
                        "name": tools[0]["function"]["name"],
                        "arguments": json.dumps(arguments),
                    },
                }
            ]
            finish = "tool_calls"
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "unknown"),
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, payload, headers, reply.delay


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
