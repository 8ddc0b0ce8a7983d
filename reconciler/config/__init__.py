"""groups.yaml <-> DesiredState.

- `load` reads a file or a directory of them (`yamlfile`: safe YAML with locations; `model`:
  the file's schema; `names`: the characters a key or a name may have; `entries`: the
  entries merged from every file) and `resolve` turns them
  into a `DesiredState` (names, teams, the rules across entries, `picturefile`: pictures).
- `workspace`: the config's path, its root and the state file, computed once.
- `write_ids`: `apply --write-ids`; `importer`: `groupctl import`'s config from live groups;
  `diff`: two configs compared; `gitrev`: a config as it was at a git revision.
"""

from reconciler.config.load import load

__all__ = ["load"]
