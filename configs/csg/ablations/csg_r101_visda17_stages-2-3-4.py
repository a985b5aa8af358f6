# Paper Table 3: CSG on stages G = (2, 3, 4) ({3, 4} is the default).
_base_ = ['../resnet101_csg_4xb8-30e_visda17.py']
model = dict(regularizer=dict(stages=(2, 3, 4)))
