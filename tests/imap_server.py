"""A real IMAP server for tests: Dovecot (Debian package `dovecot-imapd`) started on loopback.

`dovecot(tmp_path, folders)` writes a private configuration, starts `dovecot -F` as a child process
on random free ports (implicit TLS and plain/STARTTLS), delivers the given messages with IMAP APPEND
(so each keeps the INTERNALDATE chosen by the test, which is what SEARCH SINCE/BEFORE compares), yields
an `ImapServerInfo`, and stops the server when the block ends, leaving no process behind.

Details that matter:
- The server runs in a short directory under /tmp, not in pytest's tmp_path: Unix socket paths are
  limited to 108 bytes and pytest's directories are private (0700), so Dovecot's unprivileged processes
  could not reach them. Its log is copied into tmp_path when it stops, for a failing test to read.
- Run as root (as CI does here), Dovecot drops privileges: login processes run as `dovenull`, internal
  ones as `dovecot`, and the mailbox belongs to `nobody`. Run as another user, everything is that user.
- The TLS certificate is issued for `localhost` and 127.0.0.1 by a throw-away CA made with `openssl`;
  `ca_file` is that CA, so clients verify certificate and hostname as they would in production.
- Every command of a logged-in session is logged: `info.commands()` lists them, so a test can prove
  what a client did (EXAMINE, never SELECT; BODY.PEEK[]; no STORE, EXPUNGE, ...).
- With `oauth2=True`, XOAUTH2/OAUTHBEARER logins are checked by Dovecot's oauth2 passdb with local
  JWT validation (HS256 key in a file dict); `info.oauth2_token` is a valid access token for the user
  and `info.make_token(...)` signs others (expired ones, say).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import grp
import hmac
import imaplib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
TEST_USER = "anne.staff@client.example"
# Dovecot answers "* OK ... ready." once its login process listens.
_START_TIMEOUT = 15.0


@dataclass(frozen=True)
class ImapServerInfo:
    host: str
    imaps_port: int
    imap_port: int
    username: str
    password: str
    ca_file: str
    oauth2_token: str | None = None
    server_pid: int = 0
    log_path: str = ""
    _jwt_key: bytes | None = field(default=None, repr=False)

    def make_token(self, *, expires_in: int = 3600, subject: str | None = None) -> str:
        """An HS256 JWT access token the server accepts (or rejects, if expired or for another user)."""
        if self._jwt_key is None:
            raise RuntimeError("the server was started without oauth2=True")
        return _jwt(self._jwt_key, subject or self.username, expires_in)

    def connect(self) -> imaplib.IMAP4:
        """A separate, logged-in, plain-loopback connection: for a test to inspect the server's state."""
        conn = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        plain = f"\0{self.username}\0{self.password}".encode()
        conn.authenticate("PLAIN", lambda _challenge: plain)  # SASL PLAIN: UTF-8 passwords too
        return conn

    def commands(self, *, wait_for_logouts: int = 0, timeout: float = 5.0) -> list[str]:
        """The IMAP commands the server has finished in logged-in sessions so far, in order, as the server
        saw them (`EXAMINE "INBOX"`, `UID FETCH 1,2 (UID BODY.PEEK[])`, ...). The log is written a moment
        after the client got its answer: `wait_for_logouts` waits until that many LOGOUTs are in it."""
        deadline = time.monotonic() + timeout
        while True:
            text = Path(self.log_path).read_text(errors="replace")
            found = [m.group(1).rstrip() for m in re.finditer(r": Debug: Command finished: (.*)", text)]
            if sum(c == "LOGOUT" for c in found) >= wait_for_logouts or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def kill_sessions(self) -> int:
        """SIGKILL the `imap` processes serving logged-in clients (a server dying mid-fetch); how many."""
        killed = 0
        for pid in _descendants(self.server_pid):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "imap":
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        return killed

    def deliver(self, folder: str, message: bytes, when: dt.datetime, flags: str = "") -> None:
        """Put one message into `folder` (created if needed) with INTERNALDATE `when`."""
        with contextlib.closing(_Closer(self.connect())) as c:
            _append(c.conn, folder, message, when, flags)


class _Closer:
    def __init__(self, conn: imaplib.IMAP4) -> None:
        self.conn = conn

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.logout()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(key: bytes, subject: str, expires_in: int) -> str:
    now = int(time.time())
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps({
        "sub": subject, "email": subject, "iat": now - 5, "nbf": now - 5, "exp": now + expires_in,
    }).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _accounts() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid) for the current privileges."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, grp.getgrgid(me.pw_gid).gr_name, me.pw_name, me.pw_uid, me.pw_gid
    internal = "dovecot" if _user_exists("dovecot") else "nobody"
    group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
    login = "dovenull" if _user_exists("dovenull") else "nobody"
    mail = pwd.getpwnam("nobody")
    return internal, group, login, mail.pw_uid, mail.pw_gid


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for localhost/127.0.0.1 signed by it:
    (ca.crt, server.crt, server.key). EC keys: quick to generate."""
    (directory / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=refinery test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "server.ext", cwd=directory)
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


def _config(root: Path, *, imap_port: int, imaps_port: int, oauth2: bool) -> str:
    internal, group, login, uid, gid = _accounts()
    mechanisms = "plain login" + (" xoauth2 oauthbearer" if oauth2 else "")
    oauth2_passdb = (
        "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
        f"  args = {root}/oauth2.conf.ext\n}}\n" if oauth2 else ""
    )
    # Without root, Dovecot cannot chroot its login and anvil processes.
    no_chroot = "" if os.geteuid() == 0 else "  chroot =\n"
    return f"""# Generated by tests/imap_server.py for one test; not a production configuration.
base_dir = {root}/run
state_dir = {root}/state
instance_name = refinery-test-{root.name}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 0
ssl = yes
ssl_cert = <{root}/server.crt
ssl_key = <{root}/server.key
ssl_min_protocol = TLSv1.2
# Plain LOGIN is allowed on the non-TLS port so tests can check that the client refuses it.
disable_plaintext_auth = no
# Every IMAP command of a logged-in session goes to the log (ImapServerInfo.commands()): what tests check.
log_debug = event=imap_command_finished
auth_mechanisms = {mechanisms}
# Failed logins are tested on purpose: no 2-15 s brute-force delays here.
auth_failure_delay = 0
{oauth2_passdb}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
{no_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service anvil {{
{no_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
"""


def _wait_ready(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on 127.0.0.1:{port} within {_START_TIMEOUT}s: {_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _append(conn: imaplib.IMAP4, folder: str, message: bytes, when: dt.datetime, flags: str = "") -> None:
    if folder.upper() != "INBOX":
        typ, _ = conn.create(_quote(folder))  # NO when it exists already: fine
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    typ, data = conn.append(_quote(folder), f"({flags})" if flags else None, imaplib.Time2Internaldate(when), message)
    if typ != "OK":
        raise RuntimeError(f"APPEND to {folder!r} failed: {data!r}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # the master stops its children before it exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _descendants(pid: int) -> set[int]:
    """The processes the Dovecot master started (auth, imap-login, imap, ...), recursively."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        out = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True)
        children = {int(p) for p in out.stdout.split()} - found
        found |= children
        todo.extend(children)
    return found


def _alive(pids: set[int], wait: float = 5.0) -> list[int]:
    """Those of `pids` still running after up to `wait` seconds (zombies count as gone)."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for pid in sorted(pids):
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@contextlib.contextmanager
def dovecot(
    tmp_path: Path,
    folders: Mapping[str, Sequence[tuple[bytes, dt.datetime]]] | None = None,
    *,
    oauth2: bool = False,
    password: str | None = None,
) -> Iterator[ImapServerInfo]:
    """Start Dovecot on loopback with `folders` ({name: [(raw message, INTERNALDATE)]}) delivered."""
    if not os.path.exists(DOVECOT):
        pytest.fail(f"{DOVECOT} not found: install Debian's dovecot-imapd (`apt-get install -y dovecot-imapd`; "
                    ".ci/run does it)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="dvc-", dir="/tmp"))
    proc: subprocess.Popen | None = None
    try:
        # Unprivileged Dovecot processes must traverse the directory and read passwd, keys and certificates
        # are read by the master (root) only.
        root.chmod(0o711)
        *_, uid, gid = _accounts()
        ca_file, _, _ = make_certificates(root)
        ca_file.chmod(0o644)
        password = password or secrets.token_urlsafe(12)
        (root / "passwd").write_text(f"{TEST_USER}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
        (root / "passwd").chmod(0o644)
        (root / "mail").mkdir()
        os.chown(root / "mail", uid, gid)
        jwt_key = None
        if oauth2:
            jwt_key = secrets.token_bytes(32)
            keys = root / "oauth2-keys"
            # fs dict: the key "shared/<azp>/<alg>/<kid>" is the file <prefix><azp>/<alg>/<kid>, base64 inside.
            (keys / "default" / "HS256").mkdir(parents=True)
            (keys / "default" / "HS256" / "default").write_text(base64.b64encode(jwt_key).decode())
            for p in (keys, keys / "default", keys / "default" / "HS256"):
                p.chmod(0o755)
            (root / "oauth2.conf.ext").write_text(
                "introspection_mode = local\n"
                f"local_validation_key_dict = fs:posix:prefix={keys}/\n"
                "username_attribute = email\n"
            )
            (root / "oauth2.conf.ext").chmod(0o644)
        for attempt in range(3):
            imap_port, imaps_port = _free_port(), _free_port()
            conf = root / "dovecot.conf"
            conf.write_text(_config(root, imap_port=imap_port, imaps_port=imaps_port, oauth2=oauth2))
            with open(root / "stderr.log", "wb") as stderr:
                proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                _wait_ready(imap_port, proc, root / "dovecot.log")
                break
            except RuntimeError:
                _stop(proc)
                # A port taken between _free_port() and Dovecot's bind() is retried; other failures are not.
                if attempt == 2 or "Address already in use" not in _tail(root / "dovecot.log", 50):
                    raise
        info = ImapServerInfo(
            host="localhost", imaps_port=imaps_port, imap_port=imap_port, username=TEST_USER, password=password,
            ca_file=str(ca_file), server_pid=proc.pid, log_path=str(root / "dovecot.log"), oauth2_token=_jwt(jwt_key, TEST_USER, 3600) if jwt_key else None, _jwt_key=jwt_key,
        )
        if folders:
            with contextlib.closing(_Closer(info.connect())) as c:
                for folder, messages in folders.items():
                    for message, when in messages:
                        _append(c.conn, folder, message, when)
        yield info
    finally:
        left: list[int] = []
        if proc is not None:
            children = _descendants(proc.pid)
            _stop(proc)
            # A session whose client is still connected can outlive the master by seconds: end it.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                left = _alive(children, wait=0.5)
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
            left = _alive(children, wait=2.0)
        with contextlib.suppress(OSError):
            shutil.copy(root / "dovecot.log", Path(tmp_path) / "dovecot.log")
        shutil.rmtree(root, ignore_errors=True)
        if left:
            raise RuntimeError(f"dovecot left processes behind: {left}")


@pytest.fixture
def dovecot_factory(tmp_path):
    """`start(folders, **options)` -> ImapServerInfo; every server started is stopped after the test.
    Import it into a test module (`from tests.imap_server import dovecot_factory`) to use it."""
    with contextlib.ExitStack() as stack:
        yield lambda folders=None, **options: stack.enter_context(dovecot(tmp_path, folders, **options))
