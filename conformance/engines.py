"""Adapters that run one validator process and reduce its answer to an outcome.

Both harnesses (`w3c.py`, `xbau_mutations.py`) and the benchmarks talk to validators only through
this module, so the engine is pluggable: `poststelle` (our engine, by its CLI contract), `xmllint`
(libxml2, the reference we compare with) and `jdk` (the JDK's own validator, Xerces-J through
javax.xml.validation, one JVM for the whole run: `conformance/jdk/XsdCheck.java`).

Outcomes:
  valid         the instance validated (schema tests: the schema compiled)
  invalid       the instance was reported invalid (incl. not well-formed)
  schema-error  the schema set did not compile
  error         anything else: I/O, usage, unexpected exit code
  crash         the process died on a signal or panicked (Rust exit code 101)
  timeout       the process exceeded the time limit
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import select
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

OUTCOMES = ("valid", "invalid", "schema-error", "error", "crash", "timeout")


@dataclass
class Result:
    """Outcome of one file (or of a schema-only compile)."""

    outcome: str
    detail: str = ""
    # poststelle only: the error kinds/messages of the first errors (for xfail reasons).
    messages: list[str] = field(default_factory=list)


def run_bounded(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout that also kills the process's children (its own session)."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Xmllint:
    """libxml2's xmllint. Exit codes: 0 valid, 1-4 parse/validation errors, 5 schema failed."""

    name = "xmllint"

    def __init__(self, binary: str | None = None, stream: bool = False):
        self.binary = binary or shutil.which("xmllint") or "xmllint"
        self.stream = stream
        # xmllint cannot compile a schema without an instance: validate a trivial document and
        # look only at whether the schema compiled (exit 5 means it did not).
        fd, self._dummy = tempfile.mkstemp(prefix="conf-dummy-", suffix=".xml")
        with os.fdopen(fd, "w") as f:
            f.write("<conformance-dummy/>\n")

    def version(self) -> str:
        p = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return (p.stderr or p.stdout).splitlines()[0] if (p.stderr or p.stdout) else "?"

    def compile_schema(self, schema: str, timeout: float) -> Result:
        r = self._run(schema, [self._dummy], timeout)
        if r.outcome in ("valid", "invalid"):
            return Result("valid", r.detail)
        return r

    def validate(self, schema: str, files: list[str], timeout: float) -> list[Result]:
        # One process per file: xmllint's exit code is per run, not per file.
        return [self._run(schema, [f], timeout) for f in files]

    def _run(self, schema: str, files: list[str], timeout: float) -> Result:
        cmd = [self.binary, "--noout"]
        if self.stream:
            cmd.append("--stream")
        cmd += ["--schema", schema, *files]
        try:
            p = run_bounded(cmd, timeout)
        except subprocess.TimeoutExpired:
            return Result("timeout")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode == 0:
            return Result("valid")
        if p.returncode == 5:
            return Result("schema-error", _short(err))
        if p.returncode in (1, 3, 4):
            return Result("invalid", _short(err))
        if p.returncode < 0:
            return Result("crash", f"signal {-p.returncode}")
        return Result("error", f"exit {p.returncode}: {_short(err)}")


class Poststelle:
    """Our engine through `poststelle validate` (the CLI contract of issue 2)."""

    name = "poststelle"

    def __init__(self, binary: str):
        self.binary = binary

    def version(self) -> str:
        p = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return p.stdout.strip() or "?"

    def compile_schema(self, schema: str, timeout: float) -> Result:
        return self._run(["--schema", schema], [], timeout)[0]

    def validate(self, schema: str, files: list[str], timeout: float) -> list[Result]:
        # Several files share one compiled grammar in one process.
        return self._run(["--schema", schema], files, timeout)

    def validate_dir(self, schema_dir: str, files: list[str], timeout: float) -> list[Result]:
        return self._run(["--schema-dir", schema_dir], files, timeout)

    def _run(self, schema_args: list[str], files: list[str], timeout: float) -> list[Result]:
        n = max(1, len(files))
        cmd = [self.binary, "validate", *schema_args, "--json", "--max-errors", "5", *files]
        try:
            p = run_bounded(cmd, timeout)
        except subprocess.TimeoutExpired:
            return [Result("timeout")] * n
        err = _short(p.stderr.decode("utf-8", "replace"))
        if p.returncode < 0 or p.returncode == 101:
            return [Result("crash", f"exit {p.returncode}: {err}")] * n
        try:
            doc = json.loads(p.stdout.decode("utf-8", "replace") or "null")
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            # No JSON: fall back on the exit code alone.
            if p.returncode == 0:
                return [Result("valid")] * n
            if p.returncode == 1:
                return [Result("invalid", err)] * n
            return [Result("error", f"exit {p.returncode} (no JSON): {err}")] * n
        schema_errors = doc.get("schema_errors") or []
        if schema_errors:
            msgs = [_short(str(e.get("message", "")), 160) for e in schema_errors[:3]]
            return [Result("schema-error", "; ".join(msgs), msgs)] * n
        if not files:
            if p.returncode == 0:
                return [Result("valid")]
            return [Result("error", f"exit {p.returncode}: {err}")]
        by_file = {}
        for entry in doc.get("files") or []:
            by_file[entry.get("file")] = entry
        results = []
        for i, f in enumerate(files):
            entry = by_file.get(f)
            if entry is None and i < len(doc.get("files") or []):
                entry = doc["files"][i]
            if entry is None:
                results.append(Result("error", f"exit {p.returncode}: file missing in JSON: {err}"))
                continue
            errs = entry.get("errors") or []
            msgs = [
                _short(f"{e.get('kind', '')}: {e.get('message', '')}", 160) for e in errs[:3]
            ]
            if entry.get("valid") is True:
                results.append(Result("valid"))
            elif entry.get("valid") is False:
                results.append(Result("invalid", "; ".join(msgs), msgs))
            else:
                results.append(Result("error", f"exit {p.returncode}: {err}"))
        return results


class Jdk:
    """The JDK's validator (Xerces-J), one long-lived JVM answering a line protocol.

    Requests are serialised (one JVM, one request at a time); a request that takes longer than
    the timeout kills the JVM, answers `timeout`, and the next request starts a new one.
    """

    name = "jdk"
    SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jdk", "XsdCheck.java")

    def __init__(self, java: str | None = None):
        self.java = java or shutil.which("java") or "java"
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._buf = b""

    @staticmethod
    def available() -> str | None:
        """None when a JVM is there, else why the engine cannot run."""
        # The single-file source launch needs the JDK's compiler module, not only a JRE.
        if shutil.which("java") is None or shutil.which("javac") is None:
            return "no JDK on PATH (java and javac; Debian: openjdk-17-jdk-headless)"
        return None

    def version(self) -> str:
        r = self._ask("V", 120.0)
        return r.detail or r.outcome

    def compile_schema(self, schema: str, timeout: float) -> Result:
        return self._ask(f"S\t{schema}", timeout)

    def validate(self, schema: str, files: list[str], timeout: float) -> list[Result]:
        return [self._ask(f"I\t{schema}\t{f}", timeout) for f in files]

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        # The single-file launch compiles the source in memory (about 1 s); -Xss for the deep
        # recursion some regex and model-group tests cause in Xerces.
        self._proc = subprocess.Popen(
            [self.java, "-Xss16m", "-XX:+UseSerialGC", self.SOURCE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._buf = b""

    def _stop(self) -> None:
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
            self._proc = None

    def _ask(self, request: str, timeout: float) -> Result:
        with self._lock:
            started = self._proc is None or self._proc.poll() is not None
            if started:
                self._start()
            assert self._proc and self._proc.stdin and self._proc.stdout
            # A fresh JVM also pays its start and the in-memory compile of the source.
            deadline = time.monotonic() + timeout + (30.0 if started else 0.0)
            try:
                self._proc.stdin.write(request.encode("utf-8") + b"\n")
                self._proc.stdin.flush()
            except OSError as e:
                self._stop()
                return Result("crash", f"jvm: {e}")
            fd = self._proc.stdout.fileno()
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stop()
                    return Result("timeout")
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._stop()
                    return Result("crash", "the JVM exited")
                self._buf += chunk
            line, _, self._buf = self._buf.partition(b"\n")
            outcome, _, detail = line.decode("utf-8", "replace").partition("\t")
            if outcome not in OUTCOMES:
                return Result("error", _short(line.decode("utf-8", "replace")))
            return Result(outcome, detail, [detail] if detail else [])


def make_engines(which: str, poststelle_bin: str | None, xmllint_stream: bool = False):
    """Engines for `--engine poststelle|xmllint|jdk|both|all` (both: poststelle and xmllint;
    all: the three; `jdk` is left out with a printed reason when no JVM is installed)."""
    engines = []
    if which in ("xmllint", "both", "all"):
        engines.append(Xmllint(stream=xmllint_stream))
    if which in ("jdk", "all"):
        why = Jdk.available()
        if why is None:
            engines.append(Jdk())
        elif which == "jdk" or os.environ.get("CI"):
            raise SystemExit(f"jdk engine: {why}")
        else:
            print(f"jdk engine skipped: {why}")
    if which in ("poststelle", "both", "all"):
        binary = poststelle_bin or default_poststelle()
        if not os.path.exists(binary):
            raise SystemExit(
                f"poststelle binary not found at {binary}; build it with "
                "`cargo build --release --locked` or pass --poststelle PATH"
            )
        engines.append(Poststelle(binary))
    return engines


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_dir() -> str:
    env = os.environ.get("POSTSTELLE_SHARED")
    if env:
        return env
    return os.path.join(os.path.dirname(repo_root()), "shared")


def default_poststelle() -> str:
    env = os.environ.get("POSTSTELLE_BIN")
    if env:
        return env
    return os.path.join(repo_root(), "target", "release", "poststelle")
