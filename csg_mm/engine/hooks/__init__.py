from .csg_momentum_hook import CSGMomentumHook
from .protocol_record_hook import ProtocolRecordHook

__all__ = ['CSGMomentumHook', 'ProtocolRecordHook']
