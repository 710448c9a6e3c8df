"""A small kustomize renderer: exactly the features k8s/ uses, so the manifests can be checked
where no kustomize binary is installed. Anything else in a kustomization is refused rather than
silently ignored.

Supported: resources (files and directories), configMapGenerator with files, behavior create
(the default) or replace (an overlay's ConfigMap in place of its base's), and
generatorOptions.disableNameSuffixHash: true, images (newName, newTag, digest), and patches that
are JSON patches (RFC 6902) on a target kind and name.

    python3 Tests/deploy/render.py k8s/base > rendered.yaml
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "images",
    "patches",
}


class RenderError(Exception):
    pass


def render(directory: str | Path) -> list[dict]:
    """The objects `kustomize build DIRECTORY` would produce (order aside)."""
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise RenderError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")

    objects: list[dict] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)

    options = kustomization.get("generatorOptions", {})
    generators = kustomization.get("configMapGenerator", [])
    if generators and options != {"disableNameSuffixHash": True}:
        raise RenderError(f"{directory}: only generatorOptions {{disableNameSuffixHash: true}} is supported")
    for generator in generators:
        _generate(objects, _config_map(directory, generator), generator.get("behavior", "create"))

    for image in kustomization.get("images", []):
        _set_image(objects, image)

    for patch in kustomization.get("patches", []):
        _apply_patch(directory, objects, patch)

    _reject_duplicates(objects)
    return objects


def _config_map(directory: Path, generator: dict) -> dict:
    unknown = set(generator) - {"name", "files", "behavior"}
    if unknown or generator.get("behavior", "create") not in ("create", "replace"):
        raise RenderError(f"configMapGenerator {generator.get('name')}: only name, files and behavior create or replace are supported")
    data = {}
    for entry in generator["files"]:
        key, _, path = entry.rpartition("=")
        path = directory / path
        data[key or path.name] = path.read_text()
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}


def _generate(objects: list[dict], config_map: dict, behavior: str) -> None:
    """create: a new ConfigMap (a duplicate name is refused later); replace: in place of the
    base's ConfigMap of that name, which must exist."""
    if behavior == "create":
        objects.append(config_map)
        return
    name = config_map["metadata"]["name"]
    existing = [i for i, obj in enumerate(objects) if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name]
    if not existing:
        raise RenderError(f"configMapGenerator {name}: behavior replace, but no ConfigMap {name} to replace")
    objects[existing[0]] = config_map


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("initContainers", []) + spec.get("containers", [])


def _set_image(objects: list[dict], image: dict) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise RenderError(f"images {image.get('name')}: unsupported fields {sorted(unknown)}")
    for obj in objects:
        for container in _containers(obj):
            name, reference = _split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                reference = "@" + image["digest"]
            elif "newTag" in image:
                reference = ":" + str(image["newTag"])
            container["image"] = name + reference


def _split_image(image: str) -> tuple[str, str]:
    """("registry:5000/name", ":tag" or "@sha256:..." or "")."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def _apply_patch(directory: Path, objects: list[dict], patch: dict) -> None:
    unknown = set(patch) - {"target", "path", "patch"}
    if unknown or set(patch["target"]) - {"kind", "name"}:
        raise RenderError(f"patch {patch}: only target kind/name with path or patch is supported")
    text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise RenderError(f"patch {patch}: only JSON patches (a list of operations) are supported")
    target = patch["target"]
    targets = [
        obj
        for obj in objects
        if obj["kind"] == target.get("kind", obj["kind"])
        and obj["metadata"]["name"] == target.get("name", obj["metadata"]["name"])
    ]
    if not targets:
        raise RenderError(f"patch {patch}: no object matches the target")
    for obj in targets:
        patched = json_patch(obj, operations)
        obj.clear()
        obj.update(patched)


def json_patch(document: dict, operations: list[dict]) -> dict:
    """RFC 6902: add, remove, replace, move, copy and test."""
    document = copy.deepcopy(document)
    for operation in operations:
        op = operation["op"]
        path = _pointer(operation["path"])
        if op == "test":
            actual = _get(document, path)
            if actual != operation["value"]:
                raise RenderError(f"test failed at {operation['path']}: {actual!r} != {operation['value']!r}")
        elif op == "add":
            _add(document, path, copy.deepcopy(operation["value"]))
        elif op == "remove":
            _remove(document, path)
        elif op == "replace":
            _remove(document, path)
            _add(document, path, copy.deepcopy(operation["value"]))
        elif op in ("move", "copy"):
            source = _pointer(operation["from"])
            value = copy.deepcopy(_get(document, source))
            if op == "move":
                _remove(document, source)
            _add(document, path, value)
        else:
            raise RenderError(f"unknown JSON patch operation {op!r}")
    return document


def _pointer(text: str) -> list[str]:
    if not text.startswith("/"):
        raise RenderError(f"JSON pointer {text!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _get(document, path: list[str]):
    for part in path:
        try:
            document = document[int(part)] if isinstance(document, list) else document[part]
        except (KeyError, IndexError, ValueError) as error:
            raise RenderError(f"no value at /{'/'.join(path)}") from error
    return document


def _add(document, path: list[str], value) -> None:
    parent = _get(document, path[:-1])
    key = path[-1]
    if isinstance(parent, list):
        index = len(parent) if key == "-" else int(key)
        if not 0 <= index <= len(parent):
            raise RenderError(f"index out of range at /{'/'.join(path)}")
        parent.insert(index, value)
    else:
        parent[key] = value


def _remove(document, path: list[str]) -> None:
    parent = _get(document, path[:-1])
    _get(document, path)
    if isinstance(parent, list):
        del parent[int(path[-1])]
    else:
        del parent[path[-1]]


def _reject_duplicates(objects: list[dict]) -> None:
    seen = set()
    for obj in objects:
        identity = (obj["kind"], obj["metadata"]["name"])
        if identity in seen:
            raise RenderError(f"duplicate object {identity}")
        seen.add(identity)


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: render.py KUSTOMIZATION_DIRECTORY", file=sys.stderr)
        return 2
    try:
        objects = render(arguments[0])
    except (RenderError, OSError, yaml.YAMLError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    yaml.safe_dump_all(objects, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
