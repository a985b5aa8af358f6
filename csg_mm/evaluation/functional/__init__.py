# Copyright (c) csg_mm contributors. All rights reserved.
from .hyperspherical_energy import energies, hyperspherical_energy

__all__ = ['energies', 'hyperspherical_energy']
