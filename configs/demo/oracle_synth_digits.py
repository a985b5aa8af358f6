# "Oracle" of paper Table 1: the teacher's backbone frozen (stem and all four stages, BN in
# eval mode), only the new linear head trained on synthetic digits.
_base_ = ['./baseline_synth_digits.py']
model = dict(backbone=dict(frozen_stages=4))
