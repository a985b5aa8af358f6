from .csg_encoder_decoder import CSGEncoderDecoder

__all__ = ['CSGEncoderDecoder']
