# CSG (Chen et al., ICLR 2021) on the digits demo: the baseline plus the contrastive loss between
# the student's and the frozen real-pretrained teacher's A-pooled stage-3/4 features (two
# independently augmented views, anchor -> student, key -> teacher), negatives from a queue.
# Settings for this scale (see docs/demo.md):
# * stages (3, 4), A-pool over the whole map (n = 1), paper-exact attention (key view), t = 0.07,
#   128-d embeddings: as the paper's VisDA setting;
# * queue K = 1024 (instead of 65536): the synthetic set has 2,000 images, so 65536 keys would be
#   ~33 epochs old; 1024 keys are the last 16 iterations (batch 64);
# * key-head momentum 0.99 (mmengine 0.01 instead of 0.001): the run has ~250 iterations, with
#   0.999 the key heads would still be mostly their random initialisation at the end;
# * lambda = 0.1 (paper, VisDA).
_base_ = ['./baseline_synth_digits.py']
train_dataloader = dict(dataset=dict(pipeline=_base_.csg_train_pipeline))
model = dict(
    regularizer=dict(
        _delete_=True,
        type='CSGRegularizer',
        stages=(3, 4),
        pool=dict(type='CSGPooling', pool_type='apool', grid=1),
        neck=dict(type='CSGProjectionNeck', out_channels=128, momentum=0.01),
        head=dict(type='CSGContrastiveHead', queue_len=1024, temperature=0.07, loss_weight=0.1),
        attention='key',
        in_shape=(1, 16, 16)))
custom_hooks = [dict(type='CSGMomentumHook')]
