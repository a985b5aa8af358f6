# Paper Table 4: global average pooling instead of A-pool.
_base_ = ['../resnet101_csg_4xb8-30e_visda17.py']
model = dict(regularizer=dict(pool=dict(pool_type='gap')))
