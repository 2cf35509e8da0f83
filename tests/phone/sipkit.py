"""Real SIP clients for the tests: baresip processes in a network namespace joined by a veth pair.

The bot's agent listens on the host end (10.77.N.1); the callers (baresip) run inside the namespace
(10.77.N.2), so baresip advertises that address in its SDP (outside a namespace it advertises the
host's interface, see shared notes stack.md) and no packet leaves the two ends of the pair.
Needs root (``ip netns``) and ``baresip`` (``make baresip``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def available() -> str | None:
    """Why the SIP tests cannot run here, or None."""
    if shutil.which("baresip") is None:
        return "baresip is not installed (make baresip)"
    if shutil.which("ip") is None or os.geteuid() != 0:
        return "network namespaces need root and iproute2"
    return None


class Namespace:
    """A namespace ``cbN`` with one end of a veth pair (10.77.N.2); the host keeps the other (.1)."""

    def __init__(self) -> None:
        n = os.getpid() % 200 + 20
        self.name, self.host_if, self.ns_if = f"cbt{n}", f"cbh{n}", f"cbn{n}"
        self.host_ip, self.ns_ip = f"10.77.{n}.1", f"10.77.{n}.2"

    def __enter__(self) -> Namespace:
        self._down()
        for command in (
            f"ip netns add {self.name}",
            f"ip link add {self.host_if} type veth peer name {self.ns_if}",
            f"ip link set {self.ns_if} netns {self.name}",
            f"ip addr add {self.host_ip}/24 dev {self.host_if}",
            f"ip link set {self.host_if} up",
            f"ip netns exec {self.name} ip addr add {self.ns_ip}/24 dev {self.ns_if}",
            f"ip netns exec {self.name} ip link set {self.ns_if} up",
            f"ip netns exec {self.name} ip link set lo up",
        ):
            subprocess.run(command.split(), check=True, capture_output=True)
        return self

    def _down(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)  # takes the veth pair
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)

    def __exit__(self, *exc: object) -> None:
        self._down()


class Baresip:
    """One baresip in the namespace: auto-answers, plays ``source``, records what it hears.

    ``trace``: every SIP message it sends or receives goes to its log (``-s``), headers included.
    """

    def __init__(
        self, ns: Namespace, home: Path, user: str, port: int, source: Path, trace: bool = False
    ) -> None:
        self.ns, self.home, self.user, self.port = ns, home, user, port
        self.control = port + 1000  # ctrl_tcp: JSON commands (dial, sndcode, hangup)
        home.mkdir(parents=True, exist_ok=True)
        (home / "recordings").mkdir(exist_ok=True)
        config = [
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module sndfile.so",
            "module_app account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            f"sip_listen {ns.ns_ip}:{port}",
            f"ctrl_tcp_listen {ns.ns_ip}:{self.control}",
            f"audio_source aufile,{source}",
            "audio_player nil,nil",
            "audio_alert nil,nil",
            f"snd_path {home / 'recordings'}",
        ]
        (home / "config").write_text("\n".join(config) + "\n")
        account = f"<sip:{user}@{ns.ns_ip}:{port}>;regint=0;answermode=auto;audio_codecs=PCMU\n"
        (home / "accounts").write_text(account)
        self.log = (home / "baresip.log").open("wb")
        command = [
            "ip",
            "netns",
            "exec",
            ns.name,
            "baresip",
            "-4",
            "-f",
            str(home),
            *(["-s"] if trace else []),
        ]
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self._wait_for_control()

    def _wait_for_control(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.ns.ns_ip, self.control), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"baresip {self.user} did not start: {self.output()[-2000:]}")

    def command(self, command: str, params: str = "") -> None:
        """A ctrl_tcp command (netstring-framed JSON), e.g. ``dial`` or ``sndcode``."""
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        with socket.create_connection((self.ns.ns_ip, self.control), timeout=5) as sock:
            sock.sendall(f"{len(body)}:".encode() + body + b",")
            time.sleep(0.2)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.home / "baresip.log").read_text(errors="replace")

    def heard(self) -> list[Path]:
        """The recordings of what this side decoded (sndfile's ``dump-*-dec.wav``)."""
        return sorted((self.home / "recordings").glob("*dec.wav"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()
