"""The demo's fictional TAT-QA files, installed as package data (`curator.sample_data`).

Read them with importlib.resources (see curator.resources), never by a path relative to the
source tree: an installed curator has no checkout beside it.
"""
