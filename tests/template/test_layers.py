"""The Lambda layers ship what Lambda runs: each function carries the layers its code needs, and no more.

The local stack runs handlers in-process on the dev install, so a function missing a layer would only fail on
AWS. These tests stand in for that:

* the core and letters layers' requirements are the package's runtime dependencies, split without overlap;
* every third-party module a handler loads at import comes from one of its layers (a subprocess per handler);
* a function carries the letters layer exactly when its code can reach the renderer (fpdf2, HarfBuzz, fontTools,
  Pillow) or the fonts: a static, name-level walk from the handler through ``dunning`` (functions, classes,
  module-level code), following imports wherever they are (lazy ones included); calls made through objects
  (``deps.renderer(...)``) are not followed;
* the core layer's build copies ``shared/dunning`` without the fonts and never ``dunning_ops``, and its
  pruning (Babel locales, botocore models) keeps what the code uses.

``make layers`` builds both layers for real (arm64, as ``sam build`` does), prints their zipped sizes and runs
the ``slow`` test at the end: every handler imported by Python 3.13 from a host-platform build of exactly its
layers.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from dunning_ops.local.translate import translate

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
LAYERS = ROOT / "infra" / "layers"
CORE, LETTERS = "DunningCoreLayer", "DunningLettersLayer"
REQUIREMENTS = {CORE: LAYERS / "core" / "requirements.txt", LETTERS: LAYERS / "letters" / "requirements.txt"}
# imported when installed, with a fallback: botocore uses certifi's CA bundle or else its own; jsonschema's format
# checkers import idna, jsonpointer and rfc3339_validator when present (the workflow schema uses no "format");
# cython_runtime is the pseudo-module PyYAML's compiled _yaml registers (PyYAML is in the core layer)
OPTIONAL_IMPORTS = {"certifi", "_distutils_hack", "idna", "jsonpointer", "rfc3339_validator", "cython_runtime"}
FONT_MODULE = "dunning.letters.fontcache"  # FONT_DIR: the fonts the letters layer brings
HANDLER_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing", "POWERTOOLS_SERVICE_NAME": "dunning", "POWERTOOLS_TRACE_DISABLED": "1",
}


# ---------------------------------------------------------------------------------------------- helpers
def requirement_lines(path: Path) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return [ln for ln in lines if ln]


def listed(path: Path) -> list[str]:
    return requirement_lines(path)


def dist_closure(requirements: list[str]) -> set[str]:
    """The installed distributions (normalised names) a requirement list pulls in, extras included."""
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # not for this platform/Python (the layer build resolves it for python3.13 itself)
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        extras = sorted(req.extras)
        if key in seen and not extras:
            continue
        seen.add(key)
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            if sub_req.marker is None:
                todo.append((sub_req, ""))
            else:
                todo.extend((sub_req, e) for e in extras or [""])
    return seen


def provided_modules(requirements: list[str]) -> set[str]:
    """Top-level import names of the distributions a layer installs."""
    dists = dist_closure(requirements)
    return {module for module, owners in packages_distributions().items()
            if any(re.sub(r"[-_.]+", "-", o).lower() in dists for o in owners)}


@pytest.fixture(scope="module")
def template_functions() -> dict[str, dict[str, Any]]:
    """Function folder -> its layers' logical ids and its environment, as SAM resolves them (Globals + its own)."""
    local = translate(ROOT / "template.yaml", "code-bucket", {})
    parameters = local.cloudformation.get("Parameters", {})

    def value(v: Any) -> str:
        if isinstance(v, dict) and set(v) == {"Ref"} and "Default" in parameters.get(v["Ref"], {}):
            return str(parameters[v["Ref"]]["Default"])
        return v if isinstance(v, str) else str(v) if isinstance(v, int | float) else "test-name"

    out = {}
    for lid, resource in local.sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = local.cloudformation["Resources"][lid]["Properties"]
        # the translation names each LayerVersion <LogicalId><10-digit content hash>
        layers = {re.sub(r"[0-9a-f]{10}$", "", ref["Ref"]) for ref in props.get("Layers", [])}
        env = {k: value(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        out[Path(resource["Properties"]["CodeUri"]).name] = {"layers": layers, "env": env}
    return out


@pytest.fixture(scope="module")
def function_layers(template_functions: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    return {folder: f["layers"] for folder, f in template_functions.items()}


# ---------------------------------------------------------------------------------------------- static walk
def module_name(path: Path) -> str:
    parts = list(path.relative_to(SHARED).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


INDEX = {module_name(p): p for p in (SHARED / "dunning").rglob("*.py")}


class Module:
    """One parsed module: its top-level definitions, what its names are bound to, its import-time code."""

    def __init__(self, name: str, tree: ast.Module, is_package: bool) -> None:
        self.name, self.is_package = name, is_package
        self.defs: dict[str, ast.AST] = {}
        self.toplevel: list[ast.AST] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defs[node.name] = node
                if any(self.registers(d, tree) for d in node.decorator_list):
                    self.toplevel.append(node)  # a route: live once its module is imported
            elif not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
                self.toplevel.append(node)
        self.bindings = self.imports(tree)

    @staticmethod
    def registers(decorator: ast.expr, tree: ast.Module) -> bool:
        """``@router.get(...)`` on an object the module made (``router = Router()``) registers the function."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
            return False
        made = {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        return target.value.id in made

    def absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        return ".".join([*package, *([node.module] if node.module else [])])

    def imports(self, scope: ast.AST) -> dict[str, tuple[str, str | None]]:
        """Local name -> (module, attribute or None), for every import statement inside ``scope``."""
        out: dict[str, tuple[str, str | None]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        out[alias.asname] = (alias.name, None)
                    else:
                        out[alias.name.split(".")[0]] = (alias.name, None)
            elif isinstance(node, ast.ImportFrom):
                base = self.absolute(node)
                for alias in node.names:
                    out[alias.asname or alias.name] = (base, alias.name)
        return out


@functools.cache
def parse(name: str, path: Path) -> Module:
    return Module(name, ast.parse(path.read_text()), path.name == "__init__.py")


def reaches(handler: Path, targets: set[str], flag_modules: set[str]) -> set[str]:
    """Which of ``targets`` (third-party top-level packages) and ``flag_modules`` (dunning modules whose use
    counts) the handler's code can reach."""
    modules: dict[str, Module] = {}
    found: set[str] = set()
    visited: set[tuple[str, str | None]] = set()
    todo: list[tuple[str, str | None]] = [("__handler__", None)]
    body: list[ast.AST]

    def get(name: str) -> Module | None:
        if name == "__handler__":
            if name not in modules:  # not cached: the walk's own test rewrites its handler
                modules[name] = Module(name, ast.parse(handler.read_text()), False)
            return modules[name]
        if name not in INDEX:
            return None
        if name not in modules:
            modules[name] = parse(name, INDEX[name])
        return modules[name]

    def use(module: str, attr: str | None) -> None:
        top = module.split(".")[0]
        if top != "dunning" and module != "__handler__":
            if top in targets:
                found.add(top)
            return
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            todo.append((".".join(parts[:i]), None))
        if attr is not None:
            sub = f"{module}.{attr}"
            todo.append((sub, None) if sub in INDEX else (module, attr))

    while todo:
        key = todo.pop()
        if key in visited:
            continue
        visited.add(key)
        name, attr = key
        mod = get(name)
        if mod is None:
            continue
        if name in flag_modules:
            found.add(name)
        if attr is None:  # the module's import-time code; all of the handler's module (Lambda calls into it)
            body = mod.toplevel + (list(mod.defs.values()) if name == "__handler__" else [])
        else:
            body = [mod.defs[attr]] if attr in mod.defs else []
        if attr is not None and attr not in mod.defs and attr in mod.bindings:
            use(*mod.bindings[attr])  # a re-exported name
            continue
        for node in body:
            local = mod.imports(node)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):  # runs the modules, not the imported functions
                    for module, attr in mod.imports(sub).values():
                        use(module, attr if attr is not None and f"{module}.{attr}" in INDEX else None)
                ref = sub.id if isinstance(sub, ast.Name) else None
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                    bound = local.get(sub.value.id) or mod.bindings.get(sub.value.id)
                    if bound and bound[1] is None:  # module.attribute
                        use(bound[0], sub.attr)
                if ref is None:
                    continue
                if ref in mod.defs:
                    todo.append((name, ref))
                elif ref in local or ref in mod.bindings:
                    use(*(local.get(ref) or mod.bindings[ref]))
    return found


def handlers() -> Iterator[Path]:
    yield from sorted((ROOT / "functions").glob("*/app.py"))


# ---------------------------------------------------------------------------------------------- tests
def test_the_layers_requirements_are_the_package_dependencies_split_without_overlap():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    core, letters = requirement_lines(REQUIREMENTS[CORE]), requirement_lines(REQUIREMENTS[LETTERS])
    assert sorted(core + letters) == sorted(declared)
    names = {layer: {Requirement(r).name.lower() for r in reqs} for layer, reqs in ((CORE, core), (LETTERS, letters))}
    assert not names[CORE] & names[LETTERS]
    assert {"fpdf2", "uharfbuzz"} <= names[LETTERS] and "pypdf" in names[CORE]
    assert not dist_closure(core) & dist_closure(letters), "a distribution in both layers overwrites itself in /opt"


def test_both_layers_are_built_by_the_layers_makefile(function_layers: dict[str, set[str]]):
    template = (ROOT / "template.yaml").read_text()
    makefile = (LAYERS / "Makefile").read_text()
    for layer in (CORE, LETTERS):
        block = template.split(f"\n  {layer}:\n", 1)[1].split("\n\n", 1)[0]
        assert "ContentUri: infra/layers/" in block and "BuildMethod: makefile" in block
        assert "BuildArchitecture: arm64" in block
        assert f"\nbuild-{layer}:" in makefile
    assert all(CORE in layers for layers in function_layers.values()), function_layers


def test_the_core_layer_build_copies_dunning_without_fonts_and_never_dunning_ops():
    makefile = (LAYERS / "Makefile").read_text()
    target = makefile.split("\nbuild-DunningCoreLayer:", 1)[1].split("\nbuild-", 1)[0]
    copies = [ln.strip() for ln in target.splitlines() if ln.strip().startswith("cp ")]
    assert copies == ["cp -R $(ROOT)/shared/dunning $(SITE)/dunning"]
    assert "rm -rf $(SITE)/$(FONTS)" in target
    assert "dunning_ops" not in target
    from dunning.letters import fontcache

    # the letters layer puts the fonts where the code looks: python/<FONTS> merges into /opt/python/<FONTS>
    assert "FONTS      := " + fontcache.FONT_DIR.relative_to(SHARED).as_posix() in makefile
    assert "cp -R $(ROOT)/shared/$(FONTS)/. $(SITE)/$(FONTS)/" in makefile


def test_each_function_carries_the_letters_layer_exactly_when_it_can_reach_the_renderer_or_fonts(
        function_layers: dict[str, set[str]]):
    letters_modules = provided_modules(requirement_lines(REQUIREMENTS[LETTERS]))
    assert {"fpdf", "uharfbuzz", "fontTools", "PIL"} <= letters_modules
    wrong = {}
    for handler in handlers():
        reached = reaches(handler, letters_modules, {FONT_MODULE})
        has = LETTERS in function_layers.get(handler.parent.name, set())
        if bool(reached) != has:
            wrong[handler.parent.name] = (f"reaches {sorted(reached)}" if reached else "reaches no PDF code",
                                          "has the letters layer" if has else "lacks it")
    assert not wrong, wrong
    letter_functions = {f for f, layers in function_layers.items() if LETTERS in layers}
    assert "render_letter" in letter_functions


def test_the_walk_sees_lazy_imports(tmp_path: Path):
    """The static walk follows an import inside a function only when that function is used."""
    handler = tmp_path / "app.py"
    handler.write_text("from dunning.app.print_extract import build_planned_shard\n\n"
                       "def handler(event, context):\n    return build_planned_shard\n")
    assert reaches(handler, {"pypdf", "fpdf"}, set()) == {"pypdf"}
    handler.write_text("from dunning.app.print_extract import extract_prefix\n")
    assert reaches(handler, {"pypdf", "fpdf"}, set()) == set()


def _import_handler(handler: Path, env: dict[str, str]) -> dict[str, Any]:
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(handler)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **HANDLER_ENV, **env},
                          cwd=handler.parent)
    return {"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr[-2000:]}


def test_every_module_a_handler_loads_at_import_comes_from_its_layers(template_functions: dict[str, dict[str, Any]],
                                                                     function_layers: dict[str, set[str]]):
    provided = {layer: provided_modules(requirement_lines(path)) for layer, path in REQUIREMENTS.items()}
    provided[CORE].add("dunning")
    envs = [template_functions.get(h.parent.name, {}).get("env", {}) for h in handlers()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(list(handlers()), pool.map(_import_handler, handlers(), envs), strict=True))
    missing = {}
    for handler, result in results.items():
        assert result["rc"] == 0, f"{handler}: {result['err']}"
        loaded = set(json.loads(result["out"].strip().splitlines()[-1])) - {"app"} - OPTIONAL_IMPORTS
        layers = function_layers.get(handler.parent.name, set())
        available = set().union(*(provided[layer] for layer in layers if layer in provided))
        extra = {m for m in loaded - available if not m.startswith("_")}
        if extra:
            missing[handler.parent.name] = sorted(extra)
        if LETTERS not in layers:
            assert not loaded & provided[LETTERS], (handler, loaded & provided[LETTERS])
    assert not missing, f"modules no layer of the function provides: {missing}"


def test_the_core_layer_keeps_the_locales_and_service_models_the_code_uses():
    from dunning.letters import labels

    locales = set(listed(LAYERS / "core" / "locales.txt"))
    templates = [p for p in (ROOT / "infra" / "config" / "templates").rglob("*.*.*")
                 if p.suffix in (".j2", ".html", ".txt")]
    template_languages = {p.name.split(".")[-2].split("-")[0] for p in templates}
    label_languages = {k.split("-")[0] for k in getattr(labels, "_LABELS", {})}
    assert template_languages and label_languages
    assert template_languages | label_languages <= locales, (template_languages | label_languages) - locales
    services = set(listed(LAYERS / "core" / "botocore-services.txt"))
    used: set[str] = set()
    for path in [*(SHARED / "dunning").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        used |= set(re.findall(r"""\b(?:client|resource)\(\s*["']([a-z0-9-]+)["']""", path.read_text()))
    assert used and used <= services, used - services


def test_pruning_removes_what_the_functions_never_load(tmp_path: Path):
    site = tmp_path / "python"
    for rel in ("babel/locale-data/root.dat", "babel/locale-data/pt_BR.dat", "babel/locale-data/de.dat",
                "babel/locale-data/en_001.dat", "botocore/data/s3/2006-03-01/service-2.json.gz",
                "botocore/data/ec2/2016-11-15/service-2.json.gz", "botocore/data/endpoints.json",
                "dunning/__pycache__/x.cpython-313.pyc", "dunning/app/x.py", "boto3-1.0.dist-info/RECORD",
                "boto3-1.0.dist-info/METADATA", "bin/jp.py", "somepkg/tests/test_x.py"):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text("x")
    (tmp_path / "locales.txt").write_text("# comment\nen\npt\n")
    (tmp_path / "services.txt").write_text("s3\n")
    subprocess.run([sys.executable, str(LAYERS / "layer_tool.py"), "prune-core", str(site),
                    str(tmp_path / "locales.txt"), str(tmp_path / "services.txt")], check=True)
    left = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert left == {"babel/locale-data/root.dat", "babel/locale-data/pt_BR.dat", "babel/locale-data/en_001.dat",
                    "botocore/data/s3/2006-03-01/service-2.json.gz", "botocore/data/endpoints.json",
                    "dunning/app/x.py", "boto3-1.0.dist-info/METADATA"}
    (site / "dunning" / "letters" / "fonts").mkdir(parents=True)
    (site / "dunning" / "letters" / "fonts" / "NotoSans-Regular.ttf").write_text("x")
    proc = subprocess.run([sys.executable, str(LAYERS / "layer_tool.py"), "prune-core", str(site),
                           str(tmp_path / "locales.txt"), str(tmp_path / "services.txt")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "fonts" in proc.stderr


def test_the_dunning_metadata_carries_the_entry_points(tmp_path: Path):
    subprocess.run([sys.executable, str(LAYERS / "layer_tool.py"), "dist-info", str(ROOT / "pyproject.toml"),
                    str(tmp_path)], check=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    from importlib.metadata import PathDistribution

    (folder,) = tmp_path.glob("dunning-*.dist-info")
    dist = PathDistribution(folder)
    assert dist.metadata["Name"] == "dunning" and dist.version == project["version"]
    found = {(e.group, e.name, e.value) for e in dist.entry_points}
    declared = {(g, n, v) for g, points in project.get("entry-points", {}).items() for n, v in points.items()}
    assert found == declared and declared


# ---------------------------------------------------------------------------------------------- real build
def python313() -> str | None:
    """A working Python 3.13 (PYTHON313, else python3.13 on PATH; a pyenv shim may exist and not run)."""
    for candidate in (os.environ.get("PYTHON313"), shutil.which("python3.13")):
        if candidate and subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


PY313 = python313()


@pytest.mark.slow
@pytest.mark.skipif(PY313 is None, reason="needs python3.13 (the Lambda runtime) to import the handlers")
def test_every_handler_imports_from_exactly_its_built_layers(tmp_path: Path,
                                                            template_functions: dict[str, dict[str, Any]]):
    """Build both layers for this machine's platform with the same targets and import each handler with
    Python 3.13 from only its layers (merged as Lambda merges them into /opt), nothing else on the path."""
    import platform

    host = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}[platform.machine()]
    built = {}
    for layer in (CORE, LETTERS):
        out = tmp_path / layer
        subprocess.run(["make", "-s", "-f", str(LAYERS / "Makefile"), f"build-{layer}", f"ARTIFACTS_DIR={out}",
                        f"PLATFORM={host}"], check=True, capture_output=True, timeout=600)
        built[layer] = out
    core_site = built[CORE] / "python"
    assert (core_site / "dunning").is_dir() and not (core_site / "dunning_ops").exists()
    assert not list(core_site.glob("dunning/letters/fonts/*"))
    assert list((built[LETTERS] / "python").glob("dunning/letters/fonts/*.ttf"))
    failures = {}
    for handler in handlers():
        layers = template_functions[handler.parent.name]["layers"]
        opt = tmp_path / f"opt-{handler.parent.name}"
        for layer in (CORE, LETTERS):
            if layer in layers:
                shutil.copytree(built[layer], opt, dirs_exist_ok=True)
        check = "from dunning.letters import fontcache; fontcache.warm_up()\n" if LETTERS in layers else ""
        script = (
            "import importlib.util, sys\n"
            f"sys.path[:] = [{str(handler.parent)!r}, {str(opt / 'python')!r}]"
            " + [p for p in sys.path if 'site-packages' not in p]\n"
            f"spec = importlib.util.spec_from_file_location('app', {str(handler)!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "import boto3\n"
            "for s in ('dynamodb', 's3', 'sesv2', 'stepfunctions'): boto3.client(s)\n"
            "from importlib.metadata import entry_points\n"
            "assert entry_points(group='dunning.contact_rules'), 'no contact rule plug-ins'\n" + check
        )
        proc = subprocess.run([PY313, "-I", "-c", script], capture_output=True, text=True,
                              env={**os.environ, **HANDLER_ENV, **template_functions[handler.parent.name]["env"]},
                              timeout=300)
        if proc.returncode:
            failures[handler.parent.name] = proc.stderr[-1500:]
    assert not failures, failures
