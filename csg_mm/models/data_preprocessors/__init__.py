from .csg_seg_data_preprocessor import CSGSegDataPreProcessor

__all__ = ['CSGSegDataPreProcessor']
