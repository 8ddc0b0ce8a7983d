"""groups.yaml -> DesiredState: `model` is the file's schema, `yamlfile` safe YAML with
locations, `load` files and merging, `resolve` names, teams and the rules across entries,
`picturefile` the pictures they point at."""

from reconciler.config.load import load

__all__ = ["load"]
