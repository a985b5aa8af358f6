# Copyright (c) csg_mm contributors. All rights reserved.
"""Plots of csg_mm's reports (matplotlib, Agg backend; imported on demand, not by
``import csg_mm``)."""
