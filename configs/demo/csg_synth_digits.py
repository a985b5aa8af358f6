# CSG (Chen et al., ICLR 2021) on the digits demo: the baseline plus the contrastive loss between
# the student's and the frozen teacher's A-pooled stage-3/4 features (two independently augmented
# views, anchor -> student, key -> teacher), negatives from a queue. Pre-registered settings
# (docs/demo.md, "Protocol"):
# * stages (3, 4) (maps 8 x 8 and 4 x 4), A-pool over the whole map (n = 1), paper-exact
#   attention (student features of the key view), t = 0.07, 128-d embeddings, lambda = 0.1: the
#   paper's VisDA setting;
# * queue K = 640 instead of 65536: the paper's queue holds 0.43 of its 152,397 training images
#   (65536 / 152397); 0.43 x 1,500 synthetic images = 645, rounded to 20 iterations of 32 keys;
# * key-head momentum 0.9 (mmengine 0.1) instead of 0.999: the run has 141 iterations; with
#   0.999 the key heads would stay at their initial weights, 0.9 averages the last ~10 iterations
#   (about half the age of the oldest key in the queue).
_base_ = ['./baseline_synth_digits.py']
train_dataloader = dict(dataset=dict(pipeline=_base_.csg_train_pipeline))
model = dict(
    regularizer=dict(
        _delete_=True,
        type='CSGRegularizer',
        stages=(3, 4),
        pool=dict(type='CSGPooling', pool_type='apool', grid=1),
        neck=dict(type='CSGProjectionNeck', out_channels=128, momentum=0.1),
        head=dict(type='CSGContrastiveHead', queue_len=640, temperature=0.07, loss_weight=0.1),
        attention='key',
        in_shape=(1, 16, 16)))
custom_hooks = [dict(type='CSGMomentumHook')]
