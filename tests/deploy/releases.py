"""Releases made broken on purpose, for the rollout tests."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path


def break_build(src: Path, dst: Path, only_on_host: str = "", ui_marker: str = "") -> None:
    """A copy of a build whose `refractor serve` exits at once (check-config and init-db still work),
    everywhere or only on the host whose hostname is `only_on_host`; with `ui_marker`, its UI's
    index.html carries that marker (see mark_ui)."""
    _copy_build(src, dst, "broken", only_on_host=only_on_host, ui_marker=ui_marker, broken=True)


def relabel_build(src: Path, dst: Path, suffix: str) -> str:
    """A copy of a build under the id `<id>-<suffix>`: the same files as another release, as
    provisioning/build.sh with REFRACTOR_BUILD_SUFFIX would make them, without building again.
    Returns the new build id."""
    return _copy_build(src, dst, suffix)


def _copy_build(
    src: Path, dst: Path, suffix: str, only_on_host: str = "", ui_marker: str = "", broken: bool = False
) -> str:
    dst.mkdir()
    build_id = (src / "BUILD_ID").read_text().strip()
    new_id = f"{build_id}-{suffix}"
    with (
        tarfile.open(src / f"refractor-{build_id}.tar") as tin,
        tarfile.open(dst / f"refractor-{new_id}.tar", "w") as tout,
    ):
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == "BUILD_ID":
                data = (new_id + "\n").encode()
            elif broken and re.fullmatch(r"wheels/refractor-.*\.whl", member.name):
                data = _break_wheel(data or b"", only_on_host)
            elif member.name == "ui/index.html" and ui_marker:
                data = _mark(data or b"", ui_marker)
            if data is not None:
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)
    (dst / "BUILD_ID").write_text(new_id + "\n")
    return new_id


def mark_ui(build: Path, marker: str) -> None:
    """Put `marker` into the UI bundle of a build (its index.html), in place: a sign of which
    release's bundle Nginx serves."""
    build_id = (build / "BUILD_ID").read_text().strip()
    tar_path = build / f"refractor-{build_id}.tar"
    marked = tar_path.with_suffix(".marked")
    with tarfile.open(tar_path) as tin, tarfile.open(marked, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == "ui/index.html":
                data = _mark(data or b"", marker)
            if data is not None:
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)
    marked.replace(tar_path)


def served_ui_marker(html: str) -> str | None:
    m = re.search(r"<!-- refractor-e2e-ui (\S+) -->", html)
    return m.group(1) if m else None


def _mark(index_html: bytes, marker: str) -> bytes:
    unmarked = re.sub(rb"<!-- refractor-e2e-ui \S+ -->\n", b"", index_html)
    return unmarked + f"<!-- refractor-e2e-ui {marker} -->\n".encode()


def _break_wheel(wheel: bytes, only_on_host: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith(".dist-info/entry_points.txt"):
                data = re.sub(
                    rb"refractor\s*=\s*app\.cli:main", b"refractor = app._broken_release:main", data
                )
            zout.writestr(item, data)
        zout.writestr(
            "app/_broken_release.py",
            (
                "import socket\nimport sys\nfrom app.cli import main as _main\n\n\ndef main():\n"
                f"    if sys.argv[1:2] == ['serve'] and {only_on_host!r} in ('', socket.gethostname()):\n"
                "        sys.exit('deliberately broken release')\n"
                "    return _main()\n"
            ),
        )
    return out.getvalue()


def tamper_sdist(src_tar: Path, dst_tar: Path, project: str) -> None:
    """A copy of a release tar whose sdist of `project` has one source file changed: still a valid
    source distribution, but no longer the file the lock's hashes name."""
    with tarfile.open(src_tar) as tin, tarfile.open(dst_tar, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if re.fullmatch(rf"wheels/{project}-[^/]+\.tar\.gz", member.name):
                data = _changed_sdist(data or b"", project)
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)


def _changed_sdist(sdist: bytes, project: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(sdist)) as tin, tarfile.open(fileobj=out, mode="w:gz") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith(f"/{project}/__init__.py"):
                data = (data or b"") + b"\nTAMPERED = True\n"
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()
