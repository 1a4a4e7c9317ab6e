"""A loopback WS-Management endpoint speaking the WinRM shell protocol, for the Hyper-V tests.

It implements what a WinRM client needs to run one command — Create (a
shell), Command, Receive, Signal and Delete — over HTTP or HTTPS with Basic
auth, as Windows' WinRM service answers them (WS-Management, MS-WSMV). It does
not run PowerShell: it decodes ``powershell -EncodedCommand <base64 UTF-16LE>``,
keeps the script for the test to inspect, and answers with a :class:`Reply`
— normally a recorded inventory envelope — or hangs, fails or prints garbage.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import re
import shlex
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from tests.peers.certs import CertFiles

DEFAULT_USERNAME = "CORP\\svc-iroa"
DEFAULT_PASSWORD = "Hyper-V-reader-1"
RECORDINGS = Path(__file__).with_name("recordings")

SOAP = "http://www.w3.org/2003/05/soap-envelope"
ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
WSMAN_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_COMMAND = f"{SHELL}/Command"
ACTION_RECEIVE = f"{SHELL}/Receive"
ACTION_SIGNAL = f"{SHELL}/Signal"
CMD_RESOURCE = f"{SHELL}/cmd"
OPERATION_TIMEOUT_FAULT = 2150858793
ACCESS_DENIED_FAULT = 5
_NS = {"s": SOAP, "a": ADDRESSING, "w": WSMAN, "rsp": SHELL}
_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")
_MAX_HANG_WAIT_S = 2.0
_STALL_S = 60.0


@dataclass
class Reply:
    """What the next PowerShell command prints and how it ends."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    hang: bool = False
    """Never finish: each Receive waits the operation timeout and ends in WinRM's timeout fault."""
    stall: bool = False
    """Never answer the Receive request at all (the HTTP response does not come)."""
    chunk_bytes: int = 64 * 1024
    """Output is streamed over several Receive responses of at most this size, as WinRM does."""


def recording(name: str) -> bytes:
    """The envelope in ``recordings/NAME.json``, bytes as PowerShell printed them."""
    return (RECORDINGS / f"{name}.json").read_bytes()


def envelope_reply(name: str) -> Reply:
    return Reply(stdout=recording(name))


def powershell_error(message: str, exit_code: int = 1) -> Reply:
    """A failed script: PowerShell's error record as CLIXML on stderr, and a non-zero exit."""
    escaped = escape(message).replace("\n", "_x000D__x000A_")
    clixml = (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
        '</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record">'
        "<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>"
        "<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>"
        f'<S S="Error">{escaped}_x000D__x000A_</S></Objs>'
    )
    return Reply(stderr=clixml.encode("utf-8"), exit_code=exit_code)


@dataclass
class Shell:
    id: str
    commands: dict[str, Command] = field(default_factory=dict)


@dataclass
class Command:
    id: str
    reply: Reply
    sent_stdout: int = 0
    done: bool = False


class WinrmServer:
    """One endpoint on 127.0.0.1; ``reply`` decides what the next command prints."""

    def __init__(
        self,
        *,
        certs: CertFiles | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        reply: Reply | None = None,
    ) -> None:
        self.certs = certs
        self.username = username
        self.password = password
        self.host = host
        self.reply = reply or Reply()
        self.deny_shell = False
        """Authenticated users get WinRM's Access-denied fault (not in Remote Management Users)."""
        self.not_winrm = False
        """Answer every request with a plain web page, as a wrong port or path would."""
        self.scripts: list[str] = []
        self.command_lines: list[str] = []
        self.actions: list[str] = []
        self.shells: dict[str, Shell] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.certs else "http"

    @property
    def port(self) -> int:
        assert self._httpd is not None, "not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/wsman"

    @property
    def ca_file(self) -> Path | None:
        return self.certs.ca if self.certs else None

    def start(self) -> WinrmServer:
        context: ssl.SSLContext | None = None
        if self.certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certs.cert, self.certs.key)
        httpd = _HttpServer((self.host, 0), _Handler, self, context)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="winrm-peer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> WinrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def open_shells(self) -> int:
        with self._lock:
            return len(self.shells)

    # -- the shell protocol ------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, str]:
        """Answer one SOAP request: (HTTP status, response envelope)."""
        root = ElementTree.fromstring(body)
        action = _text(root, "s:Header/a:Action")
        message_id = _text(root, "s:Header/a:MessageID")
        resource = _text(root, "s:Header/w:ResourceURI")
        shell_id = next(
            (
                selector.text or ""
                for selector in root.iterfind("s:Header/w:SelectorSet/w:Selector", _NS)
                if selector.get("Name") == "ShellId"
            ),
            "",
        )
        self.actions.append(action.rsplit("/", 1)[-1])
        if resource != CMD_RESOURCE:
            return _fault(
                message_id,
                "w:DestinationUnreachable",
                "The resource URI is not supported.",
                2150858778,
            )
        if action == ACTION_CREATE:
            return self._create(message_id)
        with self._lock:
            shell = self.shells.get(shell_id)
        if shell is None:
            return _fault(message_id, "w:InvalidSelectors", "The shell was not found.", 2150858843)
        if action == ACTION_COMMAND:
            return self._command(shell, root, message_id)
        if action == ACTION_RECEIVE:
            return self._receive(shell, root, message_id)
        if action == ACTION_SIGNAL:
            command_id = _attribute(root, "s:Body/rsp:Signal", "CommandId")
            with self._lock:
                shell.commands.pop(command_id, None)
            return 200, _envelope(f"{ACTION_SIGNAL}Response", message_id, "<rsp:SignalResponse/>")
        if action == ACTION_DELETE:
            with self._lock:
                self.shells.pop(shell.id, None)
            return 200, _envelope(f"{ACTION_DELETE}Response", message_id, "")
        return _fault(
            message_id, "a:ActionNotSupported", "The action is not supported.", 2150858776
        )

    def _create(self, message_id: str) -> tuple[int, str]:
        if self.deny_shell:
            return _fault(message_id, "w:AccessDenied", "Access is denied.", ACCESS_DENIED_FAULT)
        shell = Shell(str(uuid.uuid4()).upper())
        with self._lock:
            self.shells[shell.id] = shell
        body = (
            "<x:ResourceCreated><a:Address>http://windows-host:5985/wsman</a:Address>"
            f"<a:ReferenceParameters><w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI>"
            f'<w:SelectorSet><w:Selector Name="ShellId">{shell.id}</w:Selector></w:SelectorSet>'
            "</a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{shell.id}</rsp:ShellId>"
            "<rsp:InputStreams>stdin</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        return 200, _envelope(f"{ACTION_CREATE}Response", message_id, body)

    def _command(self, shell: Shell, root: ElementTree.Element, message_id: str) -> tuple[int, str]:
        command = _text(root, "s:Body/rsp:CommandLine/rsp:Command")
        arguments = _text(root, "s:Body/rsp:CommandLine/rsp:Arguments")
        line = f"{command} {arguments}".strip()
        self.command_lines.append(line)
        script = decode_powershell(line)
        if script is None:
            name = line.split(" ", 1)[0]
            reply = Reply(
                stderr=f"'{name}' is not recognized as an internal or external command,\r\n"
                "operable program or batch file.\r\n".encode(),
                exit_code=1,
            )
        else:
            self.scripts.append(script)
            reply = self.reply
        command_id = str(uuid.uuid4()).upper()
        with self._lock:
            shell.commands[command_id] = Command(command_id, reply)
        body = (
            f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId>"
            "</rsp:CommandResponse>"
        )
        return 200, _envelope(f"{ACTION_COMMAND}Response", message_id, body)

    def _receive(self, shell: Shell, root: ElementTree.Element, message_id: str) -> tuple[int, str]:
        command_id = _attribute(root, "s:Body/rsp:Receive/rsp:DesiredStream", "CommandId")
        with self._lock:
            command = shell.commands.get(command_id)
        if command is None:
            return _fault(
                message_id, "w:InvalidParameter", "The command was not found.", 2150858843
            )
        reply = command.reply
        if reply.stall:
            self.stopping.wait(_STALL_S)
            return 0, ""
        if reply.hang:
            self.stopping.wait(min(_operation_timeout(root), _MAX_HANG_WAIT_S))
            return _fault(
                message_id,
                "w:TimedOut",
                "The WS-Management service cannot complete the operation within the time "
                "specified in OperationTimeout.",
                OPERATION_TIMEOUT_FAULT,
            )
        start = command.sent_stdout
        chunk = reply.stdout[start : start + reply.chunk_bytes]
        command.sent_stdout = start + len(chunk)
        finished = command.sent_stdout >= len(reply.stdout)
        streams = []
        if chunk:
            streams.append(_stream("stdout", command_id, chunk))
        if finished:
            command.done = True
            if reply.stderr:
                streams.append(_stream("stderr", command_id, reply.stderr))
            streams.append(f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"/>')
            streams.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"/>')
            state = (
                f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Done">'
                f"<rsp:ExitCode>{reply.exit_code}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            state = (
                f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Running"/>'
            )
        body = f"<rsp:ReceiveResponse>{''.join(streams)}{state}</rsp:ReceiveResponse>"
        return 200, _envelope(f"{ACTION_RECEIVE}Response", message_id, body)


def decode_powershell(command_line: str) -> str | None:
    """The script of ``powershell[.exe] ... -EncodedCommand <base64>``, or None otherwise."""
    try:
        words = shlex.split(command_line, posix=False)
    except ValueError:
        return None
    if not words or words[0].lower().removesuffix(".exe") != "powershell":
        return None
    for flag, value in itertools.pairwise(words):
        # PowerShell accepts any unambiguous prefix of -EncodedCommand from -e on.
        if flag.startswith("-") and "-encodedcommand".startswith(flag.lower()) and len(flag) > 1:
            try:
                return base64.b64decode(value, validate=True).decode("utf-16-le")
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def _stream(name: str, command_id: str, data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<rsp:Stream Name="{name}" CommandId="{command_id}">{encoded}</rsp:Stream>'


def _envelope(action: str, relates_to: str, body: str) -> str:
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{SOAP}" xmlns:a="{ADDRESSING}" '
        f'xmlns:x="{TRANSFER}" xmlns:w="{WSMAN}" xmlns:rsp="{SHELL}" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
        f"<s:Header><a:Action>{action}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ADDRESSING}/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def _fault(relates_to: str, subcode: str, message: str, code: int) -> tuple[int, str]:
    body = (
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value>"
        f"<s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(message)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{WSMAN_FAULT}" Code="{code}" Machine="127.0.0.1">'
        f"<f:Message>{escape(message)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return 500, _envelope(f"{ADDRESSING}/fault", relates_to, body)


def _text(root: ElementTree.Element, path: str) -> str:
    element = root.find(path, _NS)
    return (element.text or "").strip() if element is not None else ""


def _attribute(root: ElementTree.Element, path: str, name: str) -> str:
    element = root.find(path, _NS)
    return element.get(name, "") if element is not None else ""


def _operation_timeout(root: ElementTree.Element) -> float:
    match = _DURATION.match(_text(root, "s:Header/w:OperationTimeout"))
    return float(match[1]) if match else 60.0


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        peer: WinrmServer,
        context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(address, handler)
        self.peer = peer
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens in the request's thread, so a client that
        # rejects the certificate cannot hold up the accept loop.
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # clients that time out and hang up are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body leave in one write, as http.sys sends them
    server: _HttpServer
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        peer = self.server.peer
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if peer.not_winrm:
            self._send(200, "It works!", "text/html")
            return
        if self.path.rstrip("/").lower() != "/wsman":
            self._send(404, "", "text/html")
            return
        if not self._authorized(peer):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            status, text = peer.handle(body)
        except ElementTree.ParseError:
            self._send(400, "", "text/html")
            return
        if status == 0:  # stalled: never answer; drop the connection once the test is over
            self.close_connection = True
            return
        self._send(status, text, "application/soap+xml;charset=UTF-8")

    def do_GET(self) -> None:
        self._send(405, "", "text/html")

    def _authorized(self, peer: WinrmServer) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            return user == peer.username and password == peer.password
        return False

    def _send(self, status: int, text: str, content_type: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
