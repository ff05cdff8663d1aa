"""A sandboxed kernel for ``nbgrader autograde``, and an executor that survives what it runs.

nbgrader runs every submission with the grader's rights: a solution cell may
read ``source/`` (the solutions and hidden tests) or ``gradebook.db``, rewrite
other students' grades, open network connections, exhaust memory, or never
return. The course's ``nbgrader_config.py`` therefore replaces nbgrader's
``Execute`` preprocessor in ``autograde`` by :class:`SandboxedExecute`, whose
kernels are started by :class:`SandboxKernelManager`:

* **Isolation** (bubblewrap, ``bwrap``, when it is installed). The kernel runs
  in new user, PID, IPC, UTS and network namespaces (no network at all, not
  even the host's loopback). Its filesystem is built from nothing: the system
  (``/usr``, a few files of ``/etc``), the Python installation, the virtual
  environment and the packages it imports, read-only; the submission's own
  folder, read-only, with every notebook in it replaced by an empty file (the
  copy being graded already holds the restored hidden tests); a fresh
  ``/tmp`` (a size-capped tmpfs, also ``$HOME``), the only writable place
  (a path under ``/tmp`` that looks like the grader's, e.g. when the course
  itself lives in ``/tmp``, is a folder of that scratch tmpfs, not the real one).
  ``source/``, ``release/``, the other students' folders, the gradebook, the
  repository and the grader's home do not exist inside. The environment is
  cleared except for a few harmless variables. Kernel and grader talk over
  ZeroMQ ``ipc`` sockets (files in a private folder bound into the sandbox):
  TCP would not cross the network namespace.
* **Resource limits** (always): ``RLIMIT_DATA`` (the memory cap, default
  4 GiB; it counts heap and anonymous mappings, so a memory bomb gets a
  ``MemoryError`` rather than the OOM killer, while the address space reserved
  by shared libraries does not count), ``RLIMIT_CPU`` (CPU seconds per kernel),
  ``RLIMIT_NPROC`` (processes of the grading user; Linux does not enforce it for
  root) and ``RLIMIT_FSIZE`` (the largest file).
* **Recovery** (:class:`SandboxedExecute`). A cell that kills the kernel
  (``os._exit``, a signal, the CPU cap) or that still runs ``interrupt_grace``
  seconds after the per-cell timeout interrupted it (a loop that swallows
  ``KeyboardInterrupt``) gets an error output, hence zero points if it is a
  test cell; the kernel is restarted and the earlier cells are replayed, so
  the other exercises are graded as usual.

Without ``bwrap`` the kernel gets the resource limits only, and every kernel
start logs a ``WARNING`` saying that the submission can read and write
whatever the grader can.

Settings (traits of :class:`SandboxKernelManager`, set in ``nbgrader_config.py``
as ``c.SandboxKernelManager.<name>``, or through the environment variable in
brackets, which wins): ``mode`` (``TAYLORNET_SANDBOX``: ``auto`` = bwrap when
found else limits only, ``bwrap`` = fail when bwrap is missing, ``limits``,
``off``), ``memory_limit`` (``TAYLORNET_SANDBOX_MEMORY``, e.g. ``4G``),
``cpu_limit`` (``TAYLORNET_SANDBOX_CPU``, seconds), ``max_processes``
(``TAYLORNET_SANDBOX_NPROC``), ``tmp_size`` (``TAYLORNET_SANDBOX_TMP``),
``bwrap`` (``TAYLORNET_SANDBOX_BWRAP``, the executable), ``ro_paths`` (more
folders to show read-only) and ``modules`` (packages whose folders are shown).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import glob
import importlib.util
import logging
import os
import queue
import shutil
import signal
import sys
import sysconfig
import tempfile
import threading
import time

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode, default

__all__ = ["SandboxKernelManager", "SandboxedExecute", "bwrap_command", "limits_command",
           "parse_size"]

#: The prefix of every sandbox log line (grep the autograde log for it).
LOG_PREFIX = "taylornet sandbox"

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

#: The files of ``/etc`` a Python kernel needs (the loader, users, time zone, fonts).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "localtime", "timezone", "fonts", "alternatives", "mime.types", "hosts")

#: Environment variables passed into the sandbox (everything else is dropped).
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "MPLBACKEND",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED",
            "PYDEVD_DISABLE_FILE_VALIDATION", "TAYLORNET_PARTIAL_CREDIT")


def parse_size(text: str | int) -> int:
    """``"4G"``, ``"512M"``, ``"1.5G"`` or a number of bytes -> bytes."""
    if isinstance(text, int):
        return text
    s = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _UNITS and not s[-1:].isdigit() else ""
    number = s[: len(s) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M or a number of bytes)") from None
    if value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return int(value * _UNITS[unit])


def _user_processes(uid: int | None = None) -> int:
    """How many processes a user (default: this one) has now (``RLIMIT_NPROC`` counts them)."""
    uid, count = str(os.getuid() if uid is None else uid), 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status, encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += line.split()[1] == uid
                        break
        except OSError:
            continue
    return count


def limits_command(command: list[str], *, memory: int, cpu: int, nproc: int,
                   fsize: int, user: tuple[int, int] | None = None) -> list[str]:
    """``command`` run by a tiny Python launcher that sets the resource limits, then ``exec``-s.

    With ``user = (uid, gid)`` (the grader is root) it also drops to that user, after
    the limits are set, so that the process cap counts that user's processes.
    """
    script = (
        "import os, resource, sys\n"
        "names = ('DATA', 'CPU', 'NPROC', 'FSIZE', 'CORE')\n"
        "for name, value in zip(names, map(int, sys.argv[1:6])):\n"
        "    name = getattr(resource, 'RLIMIT_' + name)\n"
        "    hard = resource.getrlimit(name)[1]\n"
        "    value = value if hard == resource.RLIM_INFINITY else min(value, hard)\n"
        "    resource.setrlimit(name, (value, value))\n"
        "uid, gid = int(sys.argv[6]), int(sys.argv[7])\n"
        "if uid >= 0:\n"
        "    os.setgroups([]); os.setgid(gid); os.setuid(uid)\n"
        "os.execv(sys.argv[8], sys.argv[8:])\n"
    )
    uid, gid = user if user else (-1, -1)
    limits = [str(v) for v in (memory, cpu, nproc, fsize, 0, uid, gid)]
    return [sys.executable, "-I", "-S", "-c", script, *limits, *command]


#: The ``taylornet`` of the kernel: it refuses every module but the student's two.
_STUDENT_INIT = '''"""taylornet as a graded notebook sees it: the visible checks and the errors."""

import importlib.abc
import sys

_ALLOWED = ("taylornet.grading", "taylornet.grading_visible", "taylornet.errors")


class _GradedNotebook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith("taylornet.") and name not in _ALLOWED:
            raise ModuleNotFoundError(
                f"{name} is not available while a notebook is graded: the taylornet "
                "references are not installed for student code. Write the function "
                "yourself with NumPy.", name=name)
        return None


sys.meta_path.insert(0, _GradedNotebook())
'''


def student_package(site: str) -> str:
    """Write the kernel's ``taylornet`` (student-facing modules only) under ``site``."""
    import taylornet

    here = os.path.dirname(os.path.abspath(taylornet.__file__))
    package = os.path.join(site, "taylornet")
    os.makedirs(package, exist_ok=True)
    for source, name in (("grading_visible.py", "grading.py"),
                         ("grading_visible.py", "grading_visible.py"),
                         ("errors.py", "errors.py")):
        shutil.copyfile(os.path.join(here, source), os.path.join(package, name))
    with open(os.path.join(package, "__init__.py"), "w", encoding="utf-8") as f:
        f.write(_STUDENT_INIT)
    return site


def _covered_package(ro_paths: list[str], site: str) -> list[tuple[str, str]]:
    """Where an installed ``taylornet`` lies inside a read-only path: cover it."""
    spec = importlib.util.find_spec("taylornet")
    covered = []
    for location in (spec.submodule_search_locations or []) if spec else []:
        real = os.path.realpath(location)
        if any(real == p or real.startswith(p.rstrip("/") + "/") for p in ro_paths):
            covered.append((os.path.join(site, "taylornet"), real))
    return covered


def _ancestors(paths) -> list[str]:
    """The folders above ``paths`` (not ``/``, ``/usr`` or ``/tmp`` themselves), outermost first."""
    found: set[str] = set()
    for path in paths:
        folder = os.path.dirname(path)
        while folder not in ("/", ""):
            found.add(folder)
            folder = os.path.dirname(folder)
    return sorted(found - {"/usr", "/tmp"}, key=lambda f: (f.count("/"), f))


def _others_can_run(*paths: str | None) -> bool:
    """Whether every folder above ``paths`` lets other users through (no bubblewrap)."""
    for path in filter(None, paths):
        folder = os.path.dirname(os.path.realpath(path))
        while True:
            if not os.stat(folder).st_mode & 0o001:
                return False
            if folder == "/":
                break
            folder = os.path.dirname(folder)
    return True


def _hand_over(folder: str, uid: int, gid: int) -> None:
    """Give the kernel's private folder (connection file, sockets, package) to ``uid``."""
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, uid, gid)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    return tree


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def sandbox_memory(pid: int, sandboxed: bool) -> int:
    """Bytes held by the process tree of ``pid``: anonymous and shared resident memory,
    memfd files (also unmapped ones) and, in bubblewrap, the sandbox's ``/dev/shm``."""
    total, seen = 0, set()
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith(("RssAnon:", "RssShmem:")):
                        total += int(line.split()[1]) * 1024
            for fd in os.listdir(f"/proc/{p}/fd"):
                path = f"/proc/{p}/fd/{fd}"
                if os.readlink(path).startswith("/memfd:"):
                    st = os.stat(path)
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
        except OSError:
            continue
    if sandboxed:
        for p in _tree(pid)[1:2]:  # bwrap's child: the sandbox's view of /dev/shm
            try:
                vfs = os.statvfs(f"/proc/{p}/root/dev/shm")
                total += (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
            except OSError:
                pass
    return total


def _kill_tree(pid: int) -> None:
    for p in reversed(_tree(pid)):
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)


def _read_only_paths(modules, extra) -> list[str]:
    """The Python installation, environment and imported packages, outermost first."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_path(name))
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None:
            for location in spec.submodule_search_locations or [spec.origin]:
                if location:
                    paths.add(location if os.path.isdir(location) else os.path.dirname(location))
    paths.update(extra)
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)} | {
        p for p in paths if p and os.path.exists(p)})
    # drop paths inside another one (bound already)
    return [p for p in real if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in real)]


def bwrap_command(command: list[str], *, bwrap: str, cwd: str | None, private: str,
                  ro_paths: list[str], tmp_size: int, env: dict[str, str],
                  covered: list[tuple[str, str]] = (), shm_size: int | None = None,
                  user_namespace: bool = True) -> list[str]:
    """``command`` inside a bubblewrap sandbox (see the module docstring for what it sees).

    ``covered``: ``(source, path)`` pairs; ``source`` is shown read-only at ``path``,
    hiding what a read-only path above shows there (the installed ``taylornet``).
    """
    # A root grader needs no user namespace, and must not have one: the launcher inside
    # drops to an unprivileged user, which a namespace mapping only root could not do.
    unshare = ["--unshare-all"] if user_namespace else [
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    args = [bwrap, *unshare, "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--ro-bind", "/usr", "/usr"]
    for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    args += ["--perms", "0755", "--dir", "/etc"]  # made by bubblewrap: open it to the kernel
    for name in ETC_FILES:
        if os.path.exists(os.path.join("/etc", name)):
            args += ["--ro-bind", os.path.join("/etc", name), os.path.join("/etc", name)]
    args += ["--perms", "1777", "--size", str(tmp_size), "--tmpfs", "/tmp"]
    # the folders above what is shown are made by bubblewrap; open them to the kernel's
    # user (a root grader's /root is 0700, and the kernel runs as an unprivileged user)
    shown = [*ro_paths, private, *(p for _, p in covered), *([cwd] if cwd else [])]
    for folder in _ancestors(os.path.realpath(p) for p in shown):
        args += ["--perms", "0755", "--dir", folder]
    if shm_size:  # the sandbox's own /dev/shm, counted by the memory watchdog
        args += ["--perms", "1777", "--size", str(shm_size), "--tmpfs", "/dev/shm"]
    for path in ro_paths:
        if path not in ("/usr", "/", "/tmp") and not path.startswith("/usr/"):
            args += ["--ro-bind", path, path]
    if cwd:
        cwd = os.path.realpath(cwd)
        args += ["--ro-bind", cwd, cwd]
        for notebook in sorted(glob.glob(os.path.join(glob.escape(cwd), "*.ipynb"))):
            args += ["--ro-bind", "/dev/null", notebook]
        args += ["--chdir", cwd]
    else:
        args += ["--chdir", "/tmp"]
    args += ["--bind", private, private]
    for source, path in covered:
        args += ["--ro-bind", source, path]
    args += ["--remount-ro", "/", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *command]


class SandboxKernelManager(AsyncKernelManager):
    """Starts each kernel in a bubblewrap sandbox with resource limits (module docstring)."""

    mode = Unicode("auto", help="auto | bwrap | limits | off (env TAYLORNET_SANDBOX)").tag(
        config=True)
    memory_limit = Unicode("4G", help="RLIMIT_DATA of the kernel (env TAYLORNET_SANDBOX_MEMORY)"
                           ).tag(config=True)
    cpu_limit = Integer(600, help="RLIMIT_CPU, CPU seconds per kernel (env TAYLORNET_SANDBOX_CPU)"
                        ).tag(config=True)
    max_processes = Integer(64, help="processes (threads count) the kernel may add to those the "
                            "grading user runs already (env TAYLORNET_SANDBOX_NPROC)").tag(
        config=True)
    file_size_limit = Unicode("1G", help="RLIMIT_FSIZE, the largest file the kernel may write"
                              ).tag(config=True)
    tmp_size = Unicode("512M", help="size of the writable /tmp of the sandbox "
                       "(env TAYLORNET_SANDBOX_TMP)").tag(config=True)
    bwrap = Unicode("bwrap", help="the bubblewrap executable (env TAYLORNET_SANDBOX_BWRAP)").tag(
        config=True)
    run_as = Unicode("nobody", help="the unprivileged user the kernel runs as when the grader "
                     "is root ('' keeps root: then the process cap does not hold) "
                     "(env TAYLORNET_SANDBOX_USER)").tag(config=True)
    watch_interval = Float(0.2, help="seconds between two looks of the memory watchdog").tag(
        config=True)
    ro_paths = List(Unicode(), help="more folders shown read-only inside the sandbox").tag(
        config=True)
    modules = List(Unicode(), ["numpy", "matplotlib", "cloudpickle"],
                   help="packages whose folders are shown read-only (editable installs); "
                   "taylornet never is: the kernel gets the student package only").tag(
        config=True)

    @default("transport")
    def _transport_default(self):
        return "ipc"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for trait, var in (("mode", "TAYLORNET_SANDBOX"),
                           ("memory_limit", "TAYLORNET_SANDBOX_MEMORY"),
                           ("tmp_size", "TAYLORNET_SANDBOX_TMP"),
                           ("bwrap", "TAYLORNET_SANDBOX_BWRAP"),
                           ("run_as", "TAYLORNET_SANDBOX_USER")):
            if os.environ.get(var):
                setattr(self, trait, os.environ[var])
        for trait, var in (("cpu_limit", "TAYLORNET_SANDBOX_CPU"),
                           ("max_processes", "TAYLORNET_SANDBOX_NPROC")):
            if os.environ.get(var):
                setattr(self, trait, int(os.environ[var]))
        if self.mode not in ("auto", "bwrap", "limits", "off"):
            raise ValueError(f"TAYLORNET_SANDBOX / mode must be auto, bwrap, limits or off, "
                             f"not {self.mode!r}")
        parse_size(self.memory_limit), parse_size(self.tmp_size)  # fail early on a typo
        # the connection file and the ipc sockets live in a private folder, the only
        # folder of the grader's that the sandbox sees besides the submission's
        self._private = tempfile.mkdtemp(prefix="taylornet-kernel-")
        self.connection_file = os.path.join(self._private, "kernel.json")

    def _bwrap_path(self) -> str | None:
        return shutil.which(self.bwrap) if self.mode in ("auto", "bwrap") else None

    def sandbox_description(self) -> str:
        memory = parse_size(self.memory_limit)
        return (f"memory {memory / 2**30:.3g} GiB, CPU {self.cpu_limit} s, "
                f"+{self.max_processes} processes")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.mode == "off":
            self.log.warning("%s: OFF - the submission runs unsandboxed, with the grader's "
                             "rights and no resource limits", LOG_PREFIX)
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        memory = parse_size(self.memory_limit)
        bwrap = self._bwrap_path()
        user = self._unprivileged_user()
        if user and not bwrap and not _others_can_run(sys.executable, kw.get("cwd")):
            self.log.warning("%s: the kernel runs as root: %s cannot reach the Python "
                             "environment or the submission (a parent folder is closed to "
                             "others); the process cap does not hold", LOG_PREFIX, self.run_as)
            user = None
        nproc = _user_processes(user[0] if user else None) + self.max_processes
        cmd = limits_command(kernel_cmd, memory=memory, cpu=self.cpu_limit, nproc=nproc,
                             fsize=parse_size(self.file_size_limit), user=user)
        env = {k: v for k, v in (kw.get("env") or os.environ).items() if k in KEPT_ENV}
        # `taylornet` in the kernel is the student package: the visible checks and the
        # errors, no reference, no grader (exercises/README.md, "The trust boundary")
        site = student_package(os.path.join(self._private, "site"))
        env["PYTHONPATH"] = site
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")  # small arrays; and threads count against max_processes
        env.update(HOME="/tmp", TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib",
                   PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                         "/usr/bin", "/bin"]),
                   MPLBACKEND=env.get("MPLBACKEND", "module://matplotlib_inline.backend_inline"))
        if bwrap:
            # the grader is outside the PID namespace (the kernel's parent there is PID 1):
            # no parent poller, and no "Ctrl-C will not work" banner on the grader's stdout
            env["JPY_PARENT_PID"] = "1"
            ro_paths = _read_only_paths([m for m in self.modules if m != "taylornet"],
                                        self.ro_paths)
            cmd = bwrap_command(cmd, bwrap=bwrap, cwd=kw.get("cwd"), private=self._private,
                                ro_paths=ro_paths, tmp_size=parse_size(self.tmp_size), env=env,
                                covered=_covered_package(ro_paths, site), shm_size=memory,
                                user_namespace=user is None)
            self.log.info("%s: bubblewrap (no network, read-only view of the submission "
                          "and the installed packages, writable /tmp), %s", LOG_PREFIX,
                          self.sandbox_description())
        elif self.mode == "bwrap":
            raise RuntimeError(f"{LOG_PREFIX}: bubblewrap ({self.bwrap}) is not installed and "
                               "mode is 'bwrap' (apt-get install bubblewrap)")
        else:
            kw["env"] = {**env, "HOME": self._private, "TMPDIR": self._private,
                         "MPLCONFIGDIR": os.path.join(self._private, "matplotlib")}
            self.log.warning(
                "%s: WARNING bubblewrap (%s) is %s: resource limits ONLY (%s). The submission "
                "can read the solutions, hidden tests and gradebook, write anywhere the grader "
                "can and use the network. Install bubblewrap (apt-get install bubblewrap).",
                LOG_PREFIX, self.bwrap, "not installed" if self.mode == "auto" else "disabled",
                self.sandbox_description())
        if user:
            _hand_over(self._private, *user)
        connection_info = await super()._async_launch_kernel(cmd, **kw)
        self._start_watchdog(memory, bwrap is not None, user[0] if user else None)
        return connection_info

    def _unprivileged_user(self) -> tuple[int, int] | None:
        """``(uid, gid)`` of :attr:`run_as` when the grader is root, else ``None``."""
        if os.geteuid() != 0 or not self.run_as:
            return None
        import pwd

        try:
            entry = pwd.getpwnam(self.run_as)
        except KeyError:
            raise RuntimeError(f"{LOG_PREFIX}: run_as user {self.run_as!r} does not exist "
                               "(set c.SandboxKernelManager.run_as)") from None
        return entry.pw_uid, entry.pw_gid

    def _start_watchdog(self, memory: int, sandboxed: bool, uid: int | None) -> None:
        """Kill the kernel when its memory, shared memory and memfds included, passes the cap.

        ``RLIMIT_DATA`` does not count shared memory (``/dev/shm``, ``memfd_create``,
        ``mmap(MAP_SHARED)``): a thread looks at the kernel's process tree every
        :attr:`watch_interval` seconds and adds it up (:func:`sandbox_memory`).
        """
        process = getattr(getattr(self, "provisioner", None), "process", None)
        if process is None:
            return
        stop = threading.Event()
        self._watchdog_stop = stop

        def watch():
            while not stop.wait(self.watch_interval) and process.poll() is None:
                used = sandbox_memory(process.pid, sandboxed)
                if used > memory:
                    self.log.warning("%s: the kernel holds %.2f GiB (heap, shared memory and "
                                     "memfds), past the memory limit of %.2f GiB: killed",
                                     LOG_PREFIX, used / 2**30, memory / 2**30)
                    _kill_tree(process.pid)
                    return

        threading.Thread(target=watch, name="taylornet-memory-watchdog", daemon=True).start()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        stop = getattr(self, "_watchdog_stop", None)
        if stop is not None:
            stop.set()
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private, ignore_errors=True)


def _is_test_cell(cell) -> bool:
    """A graded code cell that is not a solution: nbgrader's autograded test cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


@functools.lru_cache(maxsize=1)
def _codec_source() -> str:
    """The source of :mod:`taylornet_grader.codec`, which the kernel runs as its shim."""
    from taylornet_grader import codec as grading_codec

    with open(grading_codec.__file__, encoding="utf-8") as f:
        return f.read()


class _ExpectedKernelDeath(logging.Filter):
    """nbclient logs a dead kernel at ERROR; here it is expected and handled: not an error.

    :meth:`SandboxedExecute._recover` logs what happened, and what it does about it,
    in one WARNING line instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Kernel died while waiting for execute reply")


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with sandboxed kernels and recovery from dead or stuck kernels.

    A code cell whose kernel dies, or stays busy ``interrupt_grace`` seconds after
    the timeout interrupted it, gets an error output (``KernelDied`` or
    ``KernelUnresponsive``); the kernel is restarted and the code cells before it
    are replayed (without touching their outputs), skipping every cell that broke a
    kernel. After ``max_restarts`` restarts the remaining cells are not run (and
    get an error output).
    """

    interrupt_grace = Integer(5, help="seconds a kernel gets to answer after the timeout "
                              "interrupted it, before it is restarted").tag(config=True)
    max_restarts = Integer(4, help="kernel restarts per notebook").tag(config=True)
    trusted_checks = Bool(True, help="run test cells in the grader, calling the student's "
                          "functions in the kernel (taylornet_grader.checker)").tag(config=True)
    setup_cells = List(Unicode(), ["setup"], help="grade ids of the locked cells that the "
                       "test cells build on (run in the grader too)").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        if not any(isinstance(f, _ExpectedKernelDeath) for f in self.log.filters):
            self.log.addFilter(_ExpectedKernelDeath())
        km = super().create_kernel_manager()
        km.log = self.log  # the sandbox's lines go to the autograde log
        return km

    def preprocess(self, nb, resources=None, km=None):
        self._broken: set[int] = set()
        self._restarts = 0
        self._timed_out = False
        self._checker = None
        self._shim_ready = False
        self._kernel_seconds = 0.0
        started = time.perf_counter()
        nb, resources = super().preprocess(nb, resources, km)
        if resources is not None:  # read by the parallel autograde's timing log
            seconds = time.perf_counter() - started
            resources["taylornet_timing"] = {"kernel_start": self._kernel_seconds,
                                             "execution": seconds - self._kernel_seconds,
                                             "restarts": self._restarts}
        return nb, resources

    async def async_start_new_kernel(self, **kwargs):
        started = time.perf_counter()
        try:
            return await super().async_start_new_kernel(**kwargs)
        finally:
            self._kernel_seconds += time.perf_counter() - started

    async def async_start_new_kernel_client(self):
        started = time.perf_counter()  # up to the kernel's first answer (wait_for_ready)
        try:
            return await super().async_start_new_kernel_client()
        finally:
            self._kernel_seconds += time.perf_counter() - started

    start_new_kernel = run_sync(async_start_new_kernel)  # nbclient's sync names, timed too
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    @staticmethod
    def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.outputs.append(NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                         traceback=[f"{ename}: {evalue}"]))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self.trusted_checks and _is_test_cell(cell):
            return self._check_in_grader(cell, index), resources
        if self._restarts > self.max_restarts:
            cell.outputs = []
            self._error(cell, "KernelDied", "not run: the kernel was restarted "
                        f"{self.max_restarts} times already")
            return cell, resources
        self._timed_out = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._error(cell, "KernelDied", "the kernel died while this cell ran (os._exit, a "
                        "signal, or the sandbox's CPU-time or memory limit); it was restarted")
            self._recover(index)
            return cell, resources
        except CellTimeoutError as exc:  # the reply came, its output did not (iopub_timeout)
            self._error(cell, "CellTimeoutError", str(exc).splitlines()[0])
            self._timed_out = True
        if self._timed_out and not self._responds(self.interrupt_grace):
            self._error(cell, "KernelUnresponsive", "the cell ran past the timeout and ignored "
                        "the interrupt; the kernel was restarted")
            self._recover(index)
        return cell, self.resources

    # -- the trust boundary: test cells run here, the student's functions in the kernel
    def _check_in_grader(self, cell, index: int):
        """Run a test cell with :class:`~taylornet_grader.checker.TrustedChecker`."""
        from taylornet_grader.checker import KernelLost, TrustedChecker

        cell.outputs = []
        if self._restarts > self.max_restarts:
            self._error(cell, "KernelDied", "not run: the kernel was restarted "
                        f"{self.max_restarts} times already")
            return cell
        if self._checker is None:
            setup = [c.source for c in self.nb.cells
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                     in self.setup_cells]
            self._checker = TrustedChecker(setup, lambda name, payload: self._call(
                name, payload, self._checking))
        self._checking = index  # the calls of this cell run at its index
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        try:
            cell.outputs = self._checker.run_cell(cell.source, name)
            cell.outputs.append(self._checker.last_record)  # the hidden cases' outcomes
        except KernelLost as lost:
            cell.outputs = list(getattr(lost, "outputs", []))  # the checker's, if any
            self._error(cell, lost.ename, lost.evalue)
            self._recover(index)
        self.nb.cells[index] = cell  # nbclient put each call's cell at this index
        return cell

    def _call(self, name: str, payload: str, index: int) -> dict:
        """Call the student's ``name`` in the kernel; its report, or :class:`KernelLost`."""
        from taylornet.grading_visible import GradingFailure
        from taylornet_grader import codec as grading_codec
        from taylornet_grader.checker import KernelLost

        if not self._shim_ready:
            shim = new_code_cell("__taylornet__ = {}\nexec(" + repr(_codec_source()) +
                                 ", __taylornet__)")
            self._run_quietly(shim, index)
            self._shim_ready = True
        call = new_code_cell(f"__taylornet__['publish'](__taylornet__['kernel_call']("
                             f"globals(), {name!r}, {payload!r}))")
        self._run_quietly(call, index)
        if self._timed_out:
            if not self._responds(self.interrupt_grace):
                raise KernelLost("KernelUnresponsive", "a call ran past the timeout and "
                                 "ignored the interrupt; the kernel was restarted")
            timeout = GradingFailure(f"`{name}` did not return within {self.timeout} s: "
                                     "an endless loop?")
            timeout.timed_out = True  # recorded as a timeout (taylornet.grading.failure_status)
            raise timeout
        reports = [o.data[grading_codec.RESULT_MIME] for o in call.outputs
                   if o.get("output_type") == "display_data"
                   and grading_codec.RESULT_MIME in o.get("data", {})]
        if reports:
            return reports[-1]
        errors = [f"{o.ename}: {o.evalue}" for o in call.outputs if o.output_type == "error"]
        raise GradingFailure(f"`{name}` could not be called: "
                             f"{errors[-1] if errors else 'no result came back'}")

    def _run_quietly(self, cell, index: int) -> None:
        """Execute a grader's cell in the kernel (no history); a dead kernel is KernelLost."""
        from taylornet_grader.checker import KernelLost

        self._timed_out = False
        try:
            self.execute_cell(cell, index, store_history=False)
        except DeadKernelError:
            raise KernelLost("KernelDied", "the kernel died while the student's code ran "
                             "(os._exit, a signal, or the sandbox's CPU-time or memory "
                             "limit); it was restarted") from None
        except CellTimeoutError as exc:
            self._timed_out = True
            cell.outputs.append(NotebookNode(output_type="error", ename="CellTimeoutError",
                                             evalue=str(exc).splitlines()[0], traceback=[]))

    def _responds(self, grace: float) -> bool:
        """Whether the kernel answers a ``kernel_info`` request within ``grace`` seconds."""
        msg_id = self.kc.kernel_info()
        get = run_sync(self.kc.shell_channel.get_msg)
        deadline = time.monotonic() + grace
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = get(timeout=left)
            except queue.Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _recover(self, index: int) -> None:
        """Restart the kernel and replay the code cells before ``index`` that did not break it."""
        self._broken.add(index)
        while True:
            self._restarts += 1
            self.log.warning("%s: cell %d stopped the kernel (the submission exited or hit a "
                             "time, CPU or memory limit); that cell scores zero, the kernel is "
                             "restarted (restart %d of at most %d)", LOG_PREFIX, index,
                             self._restarts, self.max_restarts)
            if self._restarts > self.max_restarts:
                return
            started = time.perf_counter()
            run_sync(self.km.restart_kernel)(now=True)
            self.kc.stop_channels()
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            self._kernel_seconds += time.perf_counter() - started
            self._shim_ready = False
            if self._replay(index):
                return

    def _replay(self, index: int) -> bool:
        """Re-run the code cells before ``index`` (on copies); ``False`` if one broke the kernel."""
        for j, earlier in enumerate(self.nb.cells[:index]):
            if earlier.cell_type != "code" or j in self._broken or not earlier.source.strip():
                continue
            if self.trusted_checks and _is_test_cell(earlier):
                continue  # test cells never run in the kernel
            self._timed_out = False
            try:
                self.execute_cell(copy.deepcopy(earlier), j, store_history=False)
            except DeadKernelError:
                self._broken.add(j)
                return False
            finally:
                self.nb.cells[j] = earlier  # nbclient stores the copy there: keep the original
            if self._timed_out and not self._responds(self.interrupt_grace):
                self._broken.add(j)
                return False
        return True
