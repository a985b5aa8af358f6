# Copyright (c) csg_mm contributors. All rights reserved.
"""High-level entry points that the command-line tools call (imported on demand, not by
``import csg_mm``): :mod:`csg_mm.apis.demo` (the digits syn-to-real demo) and
:mod:`csg_mm.apis.model_loading` (building a config's model and loading a checkpoint's backbone
for the analysis tools)."""
