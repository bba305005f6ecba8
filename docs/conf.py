"""Sphinx configuration for Velocity's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "Velocity"
author = "The Velocity developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
exclude_patterns = ["_build", "notebooks"]
nitpicky = False
