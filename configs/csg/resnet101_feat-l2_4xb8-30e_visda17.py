# "Feature l2" comparison of paper Table 1 (57.1): the vanilla baseline plus the l2 distance of
# the last-stage features to the frozen ImageNet model's. The paper does not give lambda; 1.0 is
# our untuned choice.
_base_ = ['./resnet101_4xb8-30e_visda17.py']
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
model = dict(regularizer=dict(
    _delete_=True,  # the base's regularizer is None: replace, do not merge
    type='FeatureL2Regularizer', stages=(4, ), loss_weight=1.0))
