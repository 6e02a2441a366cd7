"""Build steps of the Lambda layers that are not plain copies (called by infra/layers/Makefile).

    layer_tool.py dist-info PYPROJECT SITE       the dunning distribution's metadata (entry points) in SITE
    layer_tool.py prune-core SITE LOCALES SERVICES
    layer_tool.py prune-letters SITE
    layer_tool.py size DIR...                    each folder zipped as ``sam package`` zips it (deflate)
    layer_tool.py disjoint DIR DIR               fail when two layers ship the same file

Pruning removes what the functions never load: byte code (Lambda compiles on import), pip's install records,
scripts and test folders; in the core layer also Babel's locale data outside LOCALES and botocore's service
models outside SERVICES. Standard library only: it runs with whatever ``python3`` SAM finds.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

RECORD_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


def listed(path: Path) -> list[str]:
    """The non-comment lines of a list file."""
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return [ln for ln in lines if ln]


def dist_info(pyproject: Path, site: Path) -> None:
    """``dunning-<version>.dist-info`` for the runtime package alone: importlib.metadata finds the
    ``dunning.contact_rules`` entry points (contact rule plug-ins) through it, as in a pip install."""
    project = tomllib.loads(pyproject.read_text())["project"]
    folder = site / f"{project['name']}-{project['version']}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
        f"Summary: {project.get('description', '')}\n")
    (folder / "top_level.txt").write_text("dunning\n")
    groups = project.get("entry-points", {})
    text = "".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
                   for group, points in groups.items())
    (folder / "entry_points.txt").write_text(text)


def prune_common(site: Path) -> None:
    for junk in (site / "bin", site / "share"):
        shutil.rmtree(junk, ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):
        if not path.exists():
            continue
        if path.is_dir() and (path.name == "__pycache__" or path.name.endswith(".data")
                              or (path.name in ("tests", "test") and len(path.relative_to(site).parts) == 2)):
            shutil.rmtree(path)
        elif path.is_file() and (path.suffix in (".pyc", ".pyo")
                                 or (path.parent.name.endswith(".dist-info") and path.name in RECORD_FILES)):
            path.unlink()


def prune_core(site: Path, locales: list[str], services: list[str]) -> None:
    prune_common(site)
    if (site / "dunning_ops").exists() or any(p.suffix in (".ttf", ".otf") for p in (site / "dunning").rglob("*")):
        raise SystemExit("the core layer must hold neither dunning_ops nor the letter fonts")
    locale_data = site / "babel" / "locale-data"
    if not locale_data.is_dir():
        raise SystemExit(f"{locale_data} not found: is babel in the core requirements?")
    keep = set(locales) | {"root"}
    for dat in locale_data.glob("*.dat"):
        if dat.stem not in keep and dat.stem.split("_", 1)[0] not in keep:
            dat.unlink()
    models = site / "botocore" / "data"
    if not models.is_dir():
        raise SystemExit(f"{models} not found: is boto3 in the core requirements?")
    missing = [s for s in services if not (models / s).is_dir()]
    if missing:
        raise SystemExit(f"botocore has no model for {missing}")
    for service in models.iterdir():
        if service.is_dir() and service.name not in services:
            shutil.rmtree(service)


def prune_letters(site: Path) -> None:
    prune_common(site)


def zipped_size(folder: Path) -> tuple[int, int, int]:
    buffer = io.BytesIO()
    files = raw = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                archive.write(path, path.relative_to(folder))
                files += 1
                raw += path.stat().st_size
    return len(buffer.getvalue()), raw, files


def file_set(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "dist-info":
        dist_info(Path(args[0]), Path(args[1]))
    elif command == "prune-core":
        prune_core(Path(args[0]), listed(Path(args[1])), listed(Path(args[2])))
    elif command == "prune-letters":
        prune_letters(Path(args[0]))
    elif command == "size":
        for folder in args:
            zipped, raw, files = zipped_size(Path(folder))
            print(f"{folder}: {zipped / 1e6:.1f} MB zipped ({raw / 1e6:.1f} MB unzipped, {files} files)")
    elif command == "disjoint":
        both = sorted(str(p) for p in file_set(Path(args[0])) & file_set(Path(args[1])))
        if both:
            raise SystemExit(f"both layers ship {both[:10]}: one would overwrite the other in /opt")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
