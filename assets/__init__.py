"""AffectScope's shipped files (detector models, the default model and its card, faces, teachers).

This folder is installed as the package `affectscope_assets` (see `pyproject.toml`), so an installed
AffectScope finds its files without the source checkout; code reaches them through
`model.assets.asset_path`, never through paths relative to a module.
"""
