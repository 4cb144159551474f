"""The store of trained modules: bytes and metadata only (files local or at an fsspec URL, weights as
`.npz` without pickle, checks, bundles, one atomic publish). It imports no model code."""

from plugmt.storage.checks import MODULE_FILES
from plugmt.storage.module import StoredModule, module_key, parse_json, sha256
from plugmt.storage.store import Store

__all__ = ["MODULE_FILES", "Store", "StoredModule", "module_key", "parse_json", "sha256"]
