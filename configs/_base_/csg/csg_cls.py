# CSG settings for classification (DESIGN.md 1.3, VisDA-17 column): lambda 0.1, stages {3, 4},
# A-pool over the whole map (n = 1), paper-exact attention, K = 65536, t = 0.07, momentum 0.999
# (mmengine 0.001), 128-d embeddings. Used with a CSGImageClassifier model and two-view data
# (`_base_/datasets/visda17.py`).
csg_regularizer = dict(
    type='CSGRegularizer',
    stages=(3, 4),
    pool=dict(type='CSGPooling', pool_type='apool', grid=1),
    neck=dict(type='CSGProjectionNeck', out_channels=128, momentum=0.001),
    head=dict(type='CSGContrastiveHead', queue_len=65536, temperature=0.07, loss_weight=0.1),
    attention='key')
custom_hooks = [dict(type='CSGMomentumHook')]
