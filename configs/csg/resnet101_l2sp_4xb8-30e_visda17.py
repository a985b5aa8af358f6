# "Weight l2" (L2-SP) comparison of paper Table 1 (56.4): the vanilla baseline plus
# lambda / 2 * ||w - w_ImageNet||^2 over the backbone. lambda = 0.01 is L2-SP's usual value (the
# paper does not give one).
_base_ = ['./resnet101_4xb8-30e_visda17.py']
custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)
model = dict(regularizer=dict(
    _delete_=True,  # the base's regularizer is None: replace, do not merge
    type='L2SPRegularizer', loss_weight=0.01))
