# "Feature l2" of paper Table 1: the baseline plus the mean squared distance of the student's
# last-stage features to the frozen teacher's, on the same (anchor) view.
# lambda = 1.0, untuned (the paper gives none). in_shape: the build-time probe of the 1-channel
# backbone.
_base_ = ['./baseline_synth_digits.py']
model = dict(
    regularizer=dict(
        _delete_=True,
        type='FeatureL2Regularizer',
        stages=(4, ),
        loss_weight=1.0,
        in_shape=(1, 16, 16)))
