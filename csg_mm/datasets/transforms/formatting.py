"""Packing of CSG's two views for segmentation."""
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackCSGSegInputs(PackSegInputs):
    """:class:`PackSegInputs` that also packs CSG's key view.

    When ``results`` holds ``img_k`` (the key view, made from the same decoded, scaled, cropped and
    flipped image by ``KeyMapper`` + ``mmpretrain.ColorJitter`` in the train pipeline),
    ``inputs`` becomes ``[anchor, key]``, two ``(3, H, W)`` tensors; otherwise the output is
    exactly :class:`PackSegInputs`'s. Pair with :class:`csg_mm.models.CSGSegDataPreProcessor`.
    """

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'img_k' in results:
            if results['img_k'].shape != results['img'].shape:
                raise ValueError(
                    f'CSG key view shape {results["img_k"].shape} differs from the anchor '
                    f'{results["img"].shape} for {results.get("img_path")}: make the key view '
                    'after all geometric transforms')
            key = super().transform(dict(img=results['img_k']))['inputs']
            packed['inputs'] = [packed['inputs'], key]
        return packed
